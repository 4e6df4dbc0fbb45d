-- A test IDENT database. Tables and columns marked "seen" carry the names found in real IDENT
-- databases (see ../shared/reference/ident-schema.md); those marked GUESSED are the guesses of
-- sql/patients.sql, present here so the demo runs end to end — a real IDENT may lack them or name
-- them otherwise (`ident-sync test-db` says). Only for tests and the compose demo: never run this
-- against a clinic's database.
CREATE TABLE dbo.Persons (
    ID int NOT NULL PRIMARY KEY,            -- seen
    Surname nvarchar(100) NULL,             -- seen
    Name nvarchar(100) NULL,                -- seen
    Patronymic nvarchar(100) NULL,          -- seen
    Phone nvarchar(100) NULL,               -- seen
    MobilePhone nvarchar(100) NULL,         -- seen
    Sex tinyint NULL,                       -- GUESSED
    Birthday datetime NULL,                 -- GUESSED
    Email nvarchar(200) NULL,               -- GUESSED
    City nvarchar(100) NULL,                -- GUESSED
    Address nvarchar(400) NULL,             -- GUESSED
    INN nvarchar(20) NULL,                  -- GUESSED
    SNILS nvarchar(20) NULL,                -- GUESSED
    Passport nvarchar(50) NULL,             -- GUESSED
    DateTimeChanged datetime NULL           -- GUESSED: whether Persons has a change column is unknown
);

-- GUESSED: the lookup tables behind Patients.ID_ArchivingReasons and ID_InfoSources.
CREATE TABLE dbo.ArchivingReasons (
    ID int NOT NULL PRIMARY KEY,
    Name nvarchar(200) NOT NULL
);

CREATE TABLE dbo.InfoSources (
    ID int NOT NULL PRIMARY KEY,
    Name nvarchar(200) NOT NULL
);

CREATE TABLE dbo.Patients (
    ID_Persons int NOT NULL PRIMARY KEY,
    FirstVisit datetime NULL,
    MinStatus int NULL,
    InitialBalance decimal(18, 2) NULL,
    InitialTreatmentSum decimal(18, 2) NULL,
    ParentSNP nvarchar(300) NULL,
    ID_Agents int NULL,
    JobPlace nvarchar(200) NULL,
    Profession nvarchar(200) NULL,
    CardNumber nvarchar(50) NULL,
    Comment nvarchar(max) NULL,
    AdditionalComment nvarchar(max) NULL,
    ID_InfoSources int NULL,
    ID_StaffInfoSources int NULL,
    ID_ArchivingReasons int NULL,
    ID_Staffs int NULL,
    ConformToSending bit NULL,
    SMSRejection bit NULL,
    BillIsNecessary bit NULL,
    EGISZRejection bit NULL,
    PatientToothInfo nvarchar(max) NULL,
    FirstConsultation datetime NULL,
    FirstTreat datetime NULL,
    ExternalUID nvarchar(100) NULL,
    ID_StaffsChanged int NULL,
    DateTimeChanged datetime NULL,
    PatientNumber nvarchar(50) NULL,
    Status int NULL,
    ID_OldProgram int NULL
);

CREATE TABLE dbo.OwnCompanies (
    ID int NOT NULL PRIMARY KEY,
    Name nvarchar(200) NOT NULL,
    BranchName nvarchar(200) NULL           -- probable (seen in one dump's column list)
);

CREATE TABLE dbo.Armchairs (
    ID int NOT NULL PRIMARY KEY,
    NameArmchair nvarchar(100) NULL,
    ID_OwnCompanies int NULL
);

CREATE TABLE dbo.Receptions (
    ID int NOT NULL PRIMARY KEY,
    ID_Patients int NULL,                   -- NULL in real data (time blocked without a patient)
    PlanStart datetime NULL,
    PlanEnd datetime NULL,
    PatientAppeared datetime NULL,
    ReceptionStarted datetime NULL,
    ReceptionEnded datetime NULL,
    CheckIssued datetime NULL,
    ReceptionCanceled datetime NULL,
    ID_ReceptionCancelReasons int NULL,     -- a cancellation by reason, with or without ReceptionCanceled
    ID_Staffs int NULL,
    ID_Armchairs int NULL,
    RowVersion timestamp,
    DateTimeAdded datetime NULL,
    DateTimeChanged datetime NULL
);

-- GUESSED (sql/receptions.sql): the lookup table behind Receptions.ID_ReceptionCancelReasons.
CREATE TABLE dbo.ReceptionCancelReasons (
    ID int NOT NULL PRIMARY KEY,
    Name nvarchar(200) NOT NULL
);

-- The schedule's time cells; a reception's cells name its doctor and chair where the reception
-- lacks them (seen in a migration of a real IDENT database).
CREATE TABLE dbo.CurrentTimeTable (
    ID int NOT NULL PRIMARY KEY,
    ID_Receptions int NULL,
    ID_Staffs int NULL,
    ID_Armchairs int NULL,
    RowVersion timestamp
);

CREATE TABLE dbo.PaymentsIn (
    ID int NOT NULL PRIMARY KEY,
    DateTimePayment datetime NULL,
    ID_OwnCompanies int NULL,
    ID_Patients int NULL,
    Payment decimal(18, 2) NULL,
    DateTimeAdded datetime NULL,
    DateTimeChanged datetime NULL
);

CREATE TABLE dbo.Orders (
    ID int NOT NULL PRIMARY KEY,
    DateTimeOrder datetime NULL,
    ID_OwnCompanies int NULL,
    ID_Receptions int NULL,
    ID_Patients int NULL,
    ID_DiscountGroupMembers int NULL,
    DateTimeAdded datetime NULL,
    DateTimeChanged datetime NULL
);

-- GUESSED (sql/receptions.sql): the services' names behind a price.
CREATE TABLE dbo.ServiceItems (
    ID int NOT NULL PRIMARY KEY,
    Name nvarchar(400) NOT NULL
);

CREATE TABLE dbo.ServiceItemPrices (
    ID int NOT NULL PRIMARY KEY,
    Price decimal(18, 2) NOT NULL,
    ID_ServiceItems int NULL                -- GUESSED (sql/receptions.sql)
);

CREATE TABLE dbo.OrderServiceRelation (
    ID int NOT NULL PRIMARY KEY,
    ID_Orders int NOT NULL,
    ID_ServicePrices int NOT NULL,
    CountService decimal(18, 2) NOT NULL,
    DiscountSum decimal(18, 2) NULL,
    DateTimeChanged datetime NULL
);

-- Indexes on the columns the change selections filter on and the patient query joins on. Which
-- of these a real IDENT has is not known (`ident-sync test-db` lists the ones a clinic's database
-- has); here they let the tests show the plans seek where an index exists.
CREATE INDEX IX_Patients_DateTimeChanged ON dbo.Patients (DateTimeChanged);
CREATE INDEX IX_Receptions_DateTimeChanged ON dbo.Receptions (DateTimeChanged) INCLUDE (ID_Patients);
CREATE INDEX IX_Receptions_ID_Patients ON dbo.Receptions (ID_Patients);
CREATE INDEX IX_PaymentsIn_DateTimeChanged ON dbo.PaymentsIn (DateTimeChanged) INCLUDE (ID_Patients);
CREATE INDEX IX_PaymentsIn_ID_Patients ON dbo.PaymentsIn (ID_Patients);
CREATE INDEX IX_Orders_DateTimeChanged ON dbo.Orders (DateTimeChanged) INCLUDE (ID_Patients);
CREATE INDEX IX_Orders_ID_Patients ON dbo.Orders (ID_Patients);
CREATE INDEX IX_OrderServiceRelation_DateTimeChanged ON dbo.OrderServiceRelation (DateTimeChanged) INCLUDE (ID_Orders);
CREATE INDEX IX_OrderServiceRelation_ID_Orders ON dbo.OrderServiceRelation (ID_Orders);
CREATE INDEX IX_CurrentTimeTable_ID_Receptions ON dbo.CurrentTimeTable (ID_Receptions);
