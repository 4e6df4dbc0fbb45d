-- The receptions a deep sync checks: from @windowStart (RECEPTIONS_DAYS_BACK days back, at
-- midnight on the clinic's clock) on, every future booking included.
SELECT r.ID AS ReceptionId
FROM dbo.Receptions AS r
WHERE r.PlanStart >= @windowStart
