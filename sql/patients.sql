-- The patient query: one flat row per patient, with the column aliases mapping/contact-map.yaml
-- refers to. ident-sync runs it read-only, a page at a time, as
--
--   WITH ident_sync_selection (PatientId) AS (<the patients of this page>)
--   <this query>
--
-- with @pageSize (rows per page) and @afterId (the last id of the previous page). Edit it to fit
-- your IDENT version; keep the aliases, or change them in the map too (every command checks the
-- map against them). SQL Server 2012 or later. `ident-sync test-db` checks every table and column
-- used here against your database.
--
-- Lines ending in `-- unconfirmed: Table.Column → replacement` use columns nobody has seen on a
-- real IDENT database. At start ident-sync looks each one up (INFORMATION_SCHEMA); where a column
-- is missing it runs the replacement instead (a typed NULL: the field stays empty), logs which
-- fields stay empty, and `ident-sync test-db` prints the line to paste. Map a missing one by
-- writing your own column in its place.
SELECT TOP (@pageSize)
    pat.ID_Persons                                   AS PatientId,
    p.Surname                                        AS Surname,
    p.Name                                           AS Name,
    p.Patronymic                                     AS Patronymic,
    p.MobilePhone                                    AS MobilePhone,
    p.Phone                                          AS Phone,
    pat.CardNumber                                   AS CardNumber,
    pat.PatientNumber                                AS PatientNumber,
    pat.Comment                                      AS Comment,
    pat.Status                                       AS StatusCode,
    pat.SMSRejection                                 AS SmsRejection,
    pat.ParentSNP                                    AS GuardianName,
    pat.DateTimeChanged                              AS ChangedAt,
    visits.VisitCount                                AS VisitCount,
    visits.FirstVisitDate                            AS FirstVisitDate,
    branch.BranchName                                AS BranchName,
    guess.Sex                                        AS Sex,
    guess.BirthDate                                  AS BirthDate,
    guess.Email                                      AS Email,
    guess.City                                       AS City,
    guess.Address                                    AS Address,
    guess.INN                                        AS INN,
    guess.SNILS                                      AS SNILS,
    guess.Passport                                   AS Passport,
    guess.ArchivingReason                            AS ArchivingReason,
    guess.InfoSource                                 AS InfoSource,
    -- No discount column is known; some clinics write it into AdditionalComment.
    CAST(NULL AS decimal(5, 2))                      AS DiscountPercent,
    billed.Total                                     AS VisitSum,
    -- Balance = opening balance + everything paid - everything billed: above zero an advance,
    -- below zero a debt.
    CASE WHEN ISNULL(pat.InitialBalance, 0) + ISNULL(paid.Total, 0) - ISNULL(billed.Total, 0) > 0
         THEN ISNULL(pat.InitialBalance, 0) + ISNULL(paid.Total, 0) - ISNULL(billed.Total, 0)
         ELSE 0 END                                  AS Advance,
    CASE WHEN ISNULL(pat.InitialBalance, 0) + ISNULL(paid.Total, 0) - ISNULL(billed.Total, 0) < 0
         THEN ISNULL(billed.Total, 0) - ISNULL(paid.Total, 0) - ISNULL(pat.InitialBalance, 0)
         ELSE 0 END                                  AS Debt
FROM dbo.Patients AS pat
JOIN dbo.Persons AS p ON p.ID = pat.ID_Persons
-- A visit happened when it ended or a check was issued, and it was not cancelled.
OUTER APPLY (
    SELECT COUNT(*) AS VisitCount, MIN(r.PlanStart) AS FirstVisitDate
    FROM dbo.Receptions AS r
    WHERE r.ID_Patients = pat.ID_Persons
      AND r.ReceptionCanceled IS NULL
      AND (r.ReceptionEnded IS NOT NULL OR r.CheckIssued IS NOT NULL)
) AS visits
-- Everything the patient paid (PaymentsIn): cash, card and transfers alike.
OUTER APPLY (
    SELECT SUM(pay.Payment) AS Total
    FROM dbo.PaymentsIn AS pay
    WHERE pay.ID_Patients = pat.ID_Persons
) AS paid
-- Everything billed: every service line of every order, count × list price less its discount.
-- Warranty work, returns and lines an insurer pays are billed lines too and are included; IDENT's
-- OrderPaymentsJournal (per order: AmountWithDiscount, Debt) is the figure to compare with.
OUTER APPLY (
    SELECT SUM(osr.CountService * sip.Price - ISNULL(osr.DiscountSum, 0)) AS Total
    FROM dbo.Orders AS bo
    JOIN dbo.OrderServiceRelation AS osr ON osr.ID_Orders = bo.ID
    JOIN dbo.ServiceItemPrices AS sip ON sip.ID = osr.ID_ServicePrices
    WHERE bo.ID_Patients = pat.ID_Persons
) AS billed
-- The branch of the patient's latest order; imported orders all carry 1900-01-01, so the order id
-- breaks the tie (otherwise the branch could flip between runs).
OUTER APPLY (
    SELECT TOP (1)
        COALESCE(NULLIF(LTRIM(RTRIM(oc.BranchName)), N''), oc.Name) AS BranchName  -- unconfirmed: OwnCompanies.BranchName → oc.Name
    FROM dbo.Orders AS o
    JOIN dbo.OwnCompanies AS oc ON oc.ID = o.ID_OwnCompanies
    WHERE o.ID_Patients = pat.ID_Persons
    ORDER BY o.DateTimeOrder DESC, o.ID DESC
) AS branch
-- ▼▼▼ UNCONFIRMED ▼▼▼ Columns and lookup tables guessed from code that never ran against a real
-- IDENT database: each is replaced by its typed NULL when the database lacks it.
OUTER APPLY (
    SELECT
        p.Sex                                        AS Sex,              -- unconfirmed: Persons.Sex → CAST(NULL AS int)
        p.Birthday                                   AS BirthDate,        -- unconfirmed: Persons.Birthday → CAST(NULL AS datetime)
        p.Email                                      AS Email,            -- unconfirmed: Persons.Email → CAST(NULL AS nvarchar(200))
        p.City                                       AS City,             -- unconfirmed: Persons.City → CAST(NULL AS nvarchar(100))
        p.Address                                    AS Address,          -- unconfirmed: Persons.Address → CAST(NULL AS nvarchar(400))
        p.INN                                        AS INN,              -- unconfirmed: Persons.INN → CAST(NULL AS nvarchar(20))
        p.SNILS                                      AS SNILS,            -- unconfirmed: Persons.SNILS → CAST(NULL AS nvarchar(20))
        p.Passport                                   AS Passport,         -- unconfirmed: Persons.Passport → CAST(NULL AS nvarchar(50))
        (SELECT ar.Name FROM dbo.ArchivingReasons AS ar WHERE ar.ID = pat.ID_ArchivingReasons) AS ArchivingReason,  -- unconfirmed: ArchivingReasons.Name, ArchivingReasons.ID → CAST(NULL AS nvarchar(200))
        (SELECT src.Name FROM dbo.InfoSources AS src WHERE src.ID = pat.ID_InfoSources) AS InfoSource  -- unconfirmed: InfoSources.Name, InfoSources.ID → CAST(NULL AS nvarchar(200))
) AS guess
-- ▲▲▲ UNCONFIRMED ▲▲▲
WHERE pat.ID_Persons IN (SELECT sel.PatientId FROM ident_sync_selection AS sel)
  AND pat.ID_Persons > @afterId
ORDER BY pat.ID_Persons;
