-- For `ident-sync test-db` and progress estimates: how many patients, and the newest change.
SELECT COUNT(*) AS Patients, MAX(pat.DateTimeChanged) AS NewestChange
FROM dbo.Patients AS pat;
