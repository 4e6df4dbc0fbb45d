-- `ident-sync test-db`'s sample: the patients changed most recently (the lowest ids are often
-- old imports and staff, which say little about today's data).
SELECT TOP (5) pat.ID_Persons AS PatientId
FROM dbo.Patients AS pat
ORDER BY pat.DateTimeChanged DESC, pat.ID_Persons DESC
