-- The database server's clock: checkpoints are taken from it, never from the container's clock
-- (the two may differ in time and time zone).
SELECT SYSDATETIME() AS DbNow;
