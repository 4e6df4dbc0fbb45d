-- The database server's clock: checkpoints are taken from it, never from the container's clock
-- (the two may differ in time and time zone). MIN_ACTIVE_ROWVERSION() marks where the next run's
-- rowversion selections start (rows of transactions still open are at or above it).
SELECT SYSDATETIME() AS DbNow, MIN_ACTIVE_ROWVERSION() AS DbRowVersion;
