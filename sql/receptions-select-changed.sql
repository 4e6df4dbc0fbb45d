-- Receptions changed since @since (the deal checkpoint minus the overlap window): the reception
-- itself, its orders and their service lines (its sum and services), each filtered on its
-- DateTimeChanged alone. And the patient's later receptions within the window (from
-- @windowStart): a reception completed or undone moves them between the primary and the repeat
-- pipeline without touching their own rows.
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
