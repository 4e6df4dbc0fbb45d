-- Patients whose Persons row (a name, a phone) changed since @since. Whether such an edit moves
-- Patients.DateTimeChanged is not known, nor whether Persons has a change column of its own: this
-- selection runs only where Persons.DateTimeChanged exists (`ident-sync test-db` says).
-- requires: Persons.DateTimeChanged
SELECT pe.ID AS PatientId
FROM dbo.Persons AS pe
WHERE pe.DateTimeChanged >= @since
