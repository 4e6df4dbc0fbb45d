-- Patients whose own row changed since @since (the checkpoint minus the overlap window).
SELECT pat.ID_Persons AS PatientId
FROM dbo.Patients AS pat
WHERE pat.DateTimeChanged >= @since
