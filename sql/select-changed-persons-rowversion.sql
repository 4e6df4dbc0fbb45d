-- Patients whose Persons row changed since the last run, where Persons has a rowversion column
-- named RowVersion (as Receptions has): @sinceRowVersion is MIN_ACTIVE_ROWVERSION() as the last
-- run began. If your Persons has a rowversion under another name, `ident-sync test-db` names it:
-- write it in both places below.
-- requires: Persons.RowVersion
SELECT pv.ID AS PatientId
FROM dbo.Persons AS pv
WHERE pv.RowVersion >= @sinceRowVersion
