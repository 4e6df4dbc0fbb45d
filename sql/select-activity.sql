-- Patients whose visits, payments or orders changed since @since: their visit count, sums,
-- advance, debt and branch moved without touching Patients.DateTimeChanged. In real IDENT
-- databases DateTimeChanged is set on insert and on every change of these rows, and is never
-- older than their status stamps (ReceptionCanceled can even be back-dated), so it alone is
-- filtered on: one range per table, which an index on DateTimeChanged serves. A deleted row
-- leaves no trace here; the deep sync catches what it changed.
SELECT r.ID_Patients AS PatientId
FROM dbo.Receptions AS r
WHERE r.DateTimeChanged >= @since
UNION
SELECT pay.ID_Patients AS PatientId
FROM dbo.PaymentsIn AS pay
WHERE pay.DateTimeChanged >= @since
UNION
SELECT o.ID_Patients AS PatientId
FROM dbo.Orders AS o
WHERE o.DateTimeChanged >= @since
UNION
SELECT so.ID_Patients AS PatientId
FROM dbo.OrderServiceRelation AS osr
JOIN dbo.Orders AS so ON so.ID = osr.ID_Orders
WHERE osr.DateTimeChanged >= @since
