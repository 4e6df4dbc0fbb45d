-- `ident-sync test-db`'s reception sample: the visits changed most recently (the highest ids are
-- bookings far ahead, which say little about how the clinic records visits), with a patient.
SELECT TOP (5) r.ID AS ReceptionId
FROM dbo.Receptions AS r
WHERE r.ID_Patients IS NOT NULL
ORDER BY r.DateTimeChanged DESC, r.ID DESC
