-- Every patient (the deep sync); the patient query pages through them in id order.
SELECT pat.ID_Persons AS PatientId
FROM dbo.Patients AS pat
