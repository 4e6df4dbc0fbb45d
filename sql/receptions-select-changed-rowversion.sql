-- Receptions whose row changed since the last deal run by IDENT's rowversion, where Receptions has
-- one named RowVersion (real IDENT databases do: ../shared/reference/ident-schema.md): a change is
-- found whatever the clock of the workstation that stamped DateTimeChanged says. And the patient's
-- later receptions within the window, as in receptions-select-changed.sql. @sinceRowVersion is
-- MIN_ACTIVE_ROWVERSION() as the last deal run began; this selection runs beside
-- receptions-select-changed.sql (orders and service lines have no rowversion), and only once a
-- deal checkpoint carries such a mark. Without the column it is left out.
-- requires: Receptions.RowVersion
SELECT r.ID AS ReceptionId
FROM dbo.Receptions AS r
WHERE r.RowVersion >= @sinceRowVersion
UNION
SELECT later.ID AS ReceptionId
FROM dbo.Receptions AS changed
JOIN dbo.Receptions AS later
  ON later.ID_Patients = changed.ID_Patients AND later.PlanStart > changed.PlanStart
WHERE changed.RowVersion >= @sinceRowVersion AND later.PlanStart >= @windowStart
