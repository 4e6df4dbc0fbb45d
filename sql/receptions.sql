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
-- ReceptionEnded, CheckIssued, ReceptionCanceled, ID_Staffs, ID_Armchairs, DateTimeChanged),
-- Armchairs.NameArmchair and the branch through Armchairs.ID_OwnCompanies are seen in real IDENT
-- databases (../shared/reference/ident-schema.md). A doctor is a person: Receptions.ID_Staffs
-- holds the doctor's Persons.ID, as Staffs is keyed by ID_Persons (an IDENT→Bitrix24 sync that
-- runs against real clinics joins Staffs ON r.ID_Staffs = s.ID_Persons and Persons ON
-- s.ID_Persons = p.ID), so Persons is joined directly. The services' names (ServiceItems) and the
-- cancel reason are not confirmed.
SELECT TOP (@pageSize)
    r.ID                                             AS ReceptionId,
    r.ID_Patients                                    AS PatientId,
    r.PlanStart                                      AS PlanStart,
    r.PlanEnd                                        AS PlanEnd,
    NULLIF(LTRIM(RTRIM(ISNULL(doc.Surname, N'') + N' ' + ISNULL(doc.Name, N'') + ISNULL(N' ' + doc.Patronymic, N''))), N'') AS Doctor,
    chair.NameArmchair                               AS Chair,
    branch.Name                                      AS Branch,
    -- The state: cancelled wins, then completed (ended or a check issued), then arrived.
    r.ReceptionCanceled                              AS CanceledAt,
    COALESCE(r.ReceptionEnded, r.CheckIssued)        AS EndedAt,
    COALESCE(r.ReceptionStarted, r.PatientAppeared)  AS ArrivedAt,
    r.CancelReason                                   AS CancelReason,  -- unconfirmed: Receptions.CancelReason → CAST(NULL AS nvarchar(256))
    STUFF((SELECT N', ' + si.Name FROM dbo.Orders AS so JOIN dbo.OrderServiceRelation AS sosr ON sosr.ID_Orders = so.ID JOIN dbo.ServiceItemPrices AS ssip ON ssip.ID = sosr.ID_ServicePrices JOIN dbo.ServiceItems AS si ON si.ID = ssip.ID_ServiceItems WHERE so.ID_Receptions = r.ID ORDER BY so.ID, si.Name FOR XML PATH(''), TYPE).value('.', 'nvarchar(max)'), 1, 2, N'') AS Services,  -- unconfirmed: ServiceItems.Name, ServiceItems.ID, ServiceItemPrices.ID_ServiceItems → CAST(NULL AS nvarchar(4000))
    -- Every service line of the reception's orders: count × list price less its discount.
    billed.Total                                     AS Sum,
    -- The latest completed, not cancelled reception before this one: the patient is a repeat patient.
    previous.PlanStart                               AS PreviousVisitAt,
    r.DateTimeChanged                                AS ChangedAt
FROM dbo.Receptions AS r
LEFT JOIN dbo.Persons AS doc ON doc.ID = r.ID_Staffs
LEFT JOIN dbo.Armchairs AS chair ON chair.ID = r.ID_Armchairs
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
      AND (prev.ReceptionEnded IS NOT NULL OR prev.CheckIssued IS NOT NULL)
    ORDER BY prev.PlanStart DESC
) AS previous
WHERE r.ID IN (SELECT sel.ReceptionId FROM ident_sync_selection AS sel)
  AND r.ID > @afterId
ORDER BY r.ID;
