-- The reception query (SYNC_RECEPTIONS=true): one flat row per reception, with the column aliases
-- mapping/deal-map.yaml refers to. ident-sync runs it read-only, a page at a time, as
--
--   WITH ident_sync_selection (ReceptionId) AS (<the receptions of this page>)
--   <this query>
--
-- with @pageSize and @afterId (the last reception id of the previous page). Keep the aliases, or
-- change them in the deal map too. SQL Server 2012 or later; `ident-sync test-db` checks every
-- table and column used here. Lines ending in `-- unconfirmed: Table.Column → replacement` use
-- columns nobody has seen in a real IDENT database: where one is missing its typed NULL runs
-- instead (the deal field stays empty) — as in patients.sql.
--
-- Receptions' columns (ID, ID_Patients, PlanStart, PlanEnd, PatientAppeared, ReceptionStarted,
-- ReceptionEnded, CheckIssued, ReceptionCanceled, ID_ReceptionCancelReasons, ID_Staffs,
-- ID_Armchairs, DateTimeChanged) and CurrentTimeTable (ID_Receptions, ID_Staffs, ID_Armchairs) are
-- read by a migration of a real IDENT database (Dentalla-MIS, AppointmentStatusNormalizationService);
-- Armchairs.NameArmchair and the branch through Armchairs.ID_OwnCompanies are seen in real IDENT
-- databases (../shared/reference/ident-schema.md). A doctor is a person: Receptions.ID_Staffs
-- holds the doctor's Persons.ID, as Staffs is keyed by ID_Persons (an IDENT→Bitrix24 sync that
-- runs against real clinics joins Staffs ON r.ID_Staffs = s.ID_Persons and Persons ON
-- s.ID_Persons = p.ID), so Persons is joined directly. The services' names (ServiceItems) and the
-- text of a cancel reason are not confirmed.
SELECT TOP (@pageSize)
    r.ID                                             AS ReceptionId,
    r.ID_Patients                                    AS PatientId,
    r.PlanStart                                      AS PlanStart,
    r.PlanEnd                                        AS PlanEnd,
    NULLIF(LTRIM(RTRIM(ISNULL(doc.Surname, N'') + N' ' + ISNULL(doc.Name, N'') + ISNULL(N' ' + doc.Patronymic, N''))), N'') AS Doctor,
    chair.NameArmchair                               AS Chair,
    -- The branch as patients.sql names it: its BranchName where set, else the company's name.
    COALESCE(NULLIF(LTRIM(RTRIM(branch.BranchName)), N''), branch.Name) AS Branch,  -- unconfirmed: OwnCompanies.BranchName → branch.Name
    -- The state: cancelled wins, then completed (ended or a check issued), then arrived. IDENT
    -- cancels by a reason (ID_ReceptionCancelReasons) or a stamp (ReceptionCanceled), each without
    -- the other in real data: either one cancels; the change stamp dates a cancellation by reason.
    CASE WHEN r.ReceptionCanceled IS NOT NULL OR r.ID_ReceptionCancelReasons IS NOT NULL
         THEN COALESCE(r.ReceptionCanceled, r.DateTimeChanged, r.PlanStart) END AS CanceledAt,
    COALESCE(r.ReceptionEnded, r.CheckIssued)        AS EndedAt,
    COALESCE(r.ReceptionStarted, r.PatientAppeared)  AS ArrivedAt,
    -- The reason's text, from the lookup table its key names (IDENT names a key's table after it:
    -- ID_Armchairs → Armchairs); the table's text column is unconfirmed.
    (SELECT rcr.Name FROM dbo.ReceptionCancelReasons AS rcr WHERE rcr.ID = r.ID_ReceptionCancelReasons) AS CancelReason,  -- unconfirmed: ReceptionCancelReasons.Name, ReceptionCancelReasons.ID → CAST(NULL AS nvarchar(256))
    -- FOR XML refuses CHAR(1–31) other than tab, LF and CR: they are taken out of each name first
    -- (in a binary collation, where REPLACE sees them as characters).
    STUFF((SELECT N', ' + REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(si.Name COLLATE Latin1_General_BIN2, NCHAR(1), N''), NCHAR(2), N''), NCHAR(3), N''), NCHAR(4), N''), NCHAR(5), N''), NCHAR(6), N''), NCHAR(7), N''), NCHAR(8), N''), NCHAR(11), N''), NCHAR(12), N''), NCHAR(14), N''), NCHAR(15), N''), NCHAR(16), N''), NCHAR(17), N''), NCHAR(18), N''), NCHAR(19), N''), NCHAR(20), N''), NCHAR(21), N''), NCHAR(22), N''), NCHAR(23), N''), NCHAR(24), N''), NCHAR(25), N''), NCHAR(26), N''), NCHAR(27), N''), NCHAR(28), N''), NCHAR(29), N''), NCHAR(30), N''), NCHAR(31), N'') FROM dbo.Orders AS so JOIN dbo.OrderServiceRelation AS sosr ON sosr.ID_Orders = so.ID JOIN dbo.ServiceItemPrices AS ssip ON ssip.ID = sosr.ID_ServicePrices JOIN dbo.ServiceItems AS si ON si.ID = ssip.ID_ServiceItems WHERE so.ID_Receptions = r.ID ORDER BY so.ID, si.Name FOR XML PATH(''), TYPE).value('.', 'nvarchar(max)'), 1, 2, N'') AS Services,  -- unconfirmed: ServiceItems.Name, ServiceItems.ID, ServiceItemPrices.ID_ServiceItems → CAST(NULL AS nvarchar(4000))
    -- Every service line of the reception's orders: count × list price less its discount.
    billed.Total                                     AS Sum,
    -- The latest completed, not cancelled reception before this one: the patient is a repeat patient.
    previous.PlanStart                               AS PreviousVisitAt,
    r.DateTimeChanged                                AS ChangedAt
FROM dbo.Receptions AS r
-- A reception without its doctor or chair has them in its slot of the schedule (CurrentTimeTable,
-- one row per time cell; a migration of a real IDENT database reads them there). Read only when
-- one is missing.
OUTER APPLY (
    SELECT MAX(ctt.ID_Staffs) AS ID_Staffs, MIN(ctt.ID_Armchairs) AS ID_Armchairs
    FROM dbo.CurrentTimeTable AS ctt
    WHERE ctt.ID_Receptions = r.ID AND (r.ID_Staffs IS NULL OR r.ID_Armchairs IS NULL)
) AS slot
LEFT JOIN dbo.Persons AS doc ON doc.ID = COALESCE(r.ID_Staffs, slot.ID_Staffs)
LEFT JOIN dbo.Armchairs AS chair ON chair.ID = COALESCE(r.ID_Armchairs, slot.ID_Armchairs)
LEFT JOIN dbo.OwnCompanies AS branch ON branch.ID = chair.ID_OwnCompanies
OUTER APPLY (
    SELECT SUM(osr.CountService * sip.Price - ISNULL(osr.DiscountSum, 0)) AS Total
    FROM dbo.Orders AS o
    JOIN dbo.OrderServiceRelation AS osr ON osr.ID_Orders = o.ID
    JOIN dbo.ServiceItemPrices AS sip ON sip.ID = osr.ID_ServicePrices
    WHERE o.ID_Receptions = r.ID
) AS billed
OUTER APPLY (
    SELECT TOP (1) prev.PlanStart
    FROM dbo.Receptions AS prev
    WHERE prev.ID_Patients = r.ID_Patients
      AND prev.PlanStart < r.PlanStart
      AND prev.ReceptionCanceled IS NULL
      AND prev.ID_ReceptionCancelReasons IS NULL
      AND (prev.ReceptionEnded IS NOT NULL OR prev.CheckIssued IS NOT NULL)
    ORDER BY prev.PlanStart DESC
) AS previous
WHERE r.ID IN (SELECT sel.ReceptionId FROM ident_sync_selection AS sel)
  AND r.ID > @afterId
  -- Real IDENT databases hold receptions without a patient (blocked time, say): no deal for them.
  AND r.ID_Patients IS NOT NULL
ORDER BY r.ID;
