-- Receptions changed since @since (the deal checkpoint minus the overlap window): the reception
-- itself, its orders and their service lines (its sum and services), each filtered on its
-- DateTimeChanged alone. And the patient's later receptions within the window (from
-- @windowStart): a reception completed or undone moves them between the primary and the repeat
-- pipeline without touching their own rows. And the visits that became overdue since: nothing
-- changes in IDENT when a patient does not come, so the deal map's no-show rule (@noShowHours after
-- the planned end; NULL when the map has none, and nothing is selected) needs them picked by time —
-- with an hour's margin, as the rule reads the sync host's clock. Receptions without a patient are
-- left out by receptions.sql.
SELECT r.ID AS ReceptionId
FROM dbo.Receptions AS r
WHERE r.DateTimeChanged >= @since
UNION
SELECT o.ID_Receptions AS ReceptionId
FROM dbo.Orders AS o
WHERE o.DateTimeChanged >= @since AND o.ID_Receptions IS NOT NULL
UNION
SELECT so.ID_Receptions AS ReceptionId
FROM dbo.OrderServiceRelation AS osr
JOIN dbo.Orders AS so ON so.ID = osr.ID_Orders
WHERE osr.DateTimeChanged >= @since AND so.ID_Receptions IS NOT NULL
UNION
SELECT later.ID AS ReceptionId
FROM dbo.Receptions AS changed
JOIN dbo.Receptions AS later
  ON later.ID_Patients = changed.ID_Patients AND later.PlanStart > changed.PlanStart
WHERE changed.DateTimeChanged >= @since AND later.PlanStart >= @windowStart
UNION
SELECT due.ID AS ReceptionId
FROM dbo.Receptions AS due
WHERE due.PlanEnd >= DATEADD(hour, -@noShowHours - 1, @since)
  AND due.PlanEnd < DATEADD(hour, -@noShowHours, GETDATE())
