-- The patient query: one flat row per patient, with the column aliases mapping/contact-map.yaml
-- refers to. ident-sync runs it read-only, a page at a time (keyset on the patient id), as
--
--   WITH ident_sync_selection AS (<one of the select-*.sql files>)
--   <this query>
--
-- with @pageSize (rows per page) and @afterId (the last id of the previous page). Edit it to fit
-- your IDENT version; keep the aliases, or change them in the map too. `ident-sync test-db`
-- checks every table and column used here against your database. SQL Server 2012 or later.
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
    guess.DiscountPercent                            AS DiscountPercent,
    guess.Billed                                     AS VisitSum,
    -- Balance = opening balance + everything paid - everything billed: above zero an advance,
    -- below zero a debt.
    CASE WHEN ISNULL(pat.InitialBalance, 0) + ISNULL(paid.Total, 0) - ISNULL(guess.Billed, 0) > 0
         THEN ISNULL(pat.InitialBalance, 0) + ISNULL(paid.Total, 0) - ISNULL(guess.Billed, 0)
         ELSE 0 END                                  AS Advance,
    CASE WHEN ISNULL(pat.InitialBalance, 0) + ISNULL(paid.Total, 0) - ISNULL(guess.Billed, 0) < 0
         THEN ISNULL(guess.Billed, 0) - ISNULL(paid.Total, 0) - ISNULL(pat.InitialBalance, 0)
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
OUTER APPLY (
    SELECT SUM(pay.Payment) AS Total
    FROM dbo.PaymentsIn AS pay
    WHERE pay.ID_Patients = pat.ID_Persons
) AS paid
-- The branch of the patient's latest order.
OUTER APPLY (
    SELECT TOP (1) oc.Name AS BranchName
    FROM dbo.Orders AS o
    JOIN dbo.OwnCompanies AS oc ON oc.ID = o.ID_OwnCompanies
    WHERE o.ID_Patients = pat.ID_Persons
    ORDER BY o.DateTimeOrder DESC
) AS branch
-- ▼▼▼ UNCONFIRMED ▼▼▼ Every column below is a guess: it has not been seen on a real IDENT database.
-- `ident-sync test-db` lists the ones your database lacks. Replace a missing one with the right
-- column, or with a typed NULL, e.g.  CAST(NULL AS nvarchar(20)) AS INN
OUTER APPLY (
    SELECT
        p.Sex                                        AS Sex,
        p.Birthday                                   AS BirthDate,
        p.Email                                      AS Email,
        p.City                                       AS City,
        p.Address                                    AS Address,
        p.INN                                        AS INN,
        p.SNILS                                      AS SNILS,
        p.Passport                                   AS Passport,
        (SELECT ar.Name FROM dbo.ArchivingReasons AS ar WHERE ar.ID = pat.ID_ArchivingReasons) AS ArchivingReason,
        (SELECT src.Name FROM dbo.InfoSources AS src WHERE src.ID = pat.ID_InfoSources)        AS InfoSource,
        -- No discount column is known; some clinics write it into AdditionalComment.
        CAST(NULL AS decimal(5, 2))                  AS DiscountPercent,
        (SELECT SUM(osr.CountService * sip.Price - ISNULL(osr.DiscountSum, 0))
           FROM dbo.Orders AS bo
           JOIN dbo.OrderServiceRelation AS osr ON osr.ID_Orders = bo.ID
           JOIN dbo.ServiceItemPrices AS sip ON sip.ID = osr.ID_ServicePrices
          WHERE bo.ID_Patients = pat.ID_Persons)     AS Billed
) AS guess
-- ▲▲▲ UNCONFIRMED ▲▲▲
WHERE pat.ID_Persons IN (SELECT sel.PatientId FROM ident_sync_selection AS sel)
  AND pat.ID_Persons > @afterId
ORDER BY pat.ID_Persons;
