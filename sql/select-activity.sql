-- Patients whose visits, payments or orders changed since @since: their visit count, sums,
-- advance, debt and branch moved without touching Patients.DateTimeChanged. A reception's own
-- timestamps are checked too: whether DateTimeChanged moves when a visit ends is not known.
SELECT r.ID_Patients AS PatientId
FROM dbo.Receptions AS r
WHERE r.DateTimeChanged >= @since
   OR r.DateTimeAdded >= @since
   OR r.ReceptionEnded >= @since
   OR r.CheckIssued >= @since
   OR r.ReceptionCanceled >= @since
UNION
SELECT pay.ID_Patients AS PatientId
FROM dbo.PaymentsIn AS pay
WHERE pay.DateTimeChanged >= @since
   OR pay.DateTimeAdded >= @since
UNION
SELECT o.ID_Patients AS PatientId
FROM dbo.Orders AS o
WHERE o.DateTimeChanged >= @since
   OR o.DateTimeAdded >= @since
