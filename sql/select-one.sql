-- One patient by IDENT id (`ident-sync test --patient-id N`).
SELECT pat.ID_Persons AS PatientId
FROM dbo.Patients AS pat
WHERE pat.ID_Persons = @patientId
