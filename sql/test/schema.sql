-- A test IDENT database: the real table and column names (see ../shared/reference/ident-schema.md),
-- with the guessed columns of sql/patients.sql present so the demo runs end to end. Only for tests
-- and the compose demo: never run this against a clinic's database.
CREATE TABLE dbo.Persons (
    ID int NOT NULL PRIMARY KEY,
    Surname nvarchar(100) NULL,
    Name nvarchar(100) NULL,
    Patronymic nvarchar(100) NULL,
    Phone nvarchar(100) NULL,
    MobilePhone nvarchar(100) NULL,
    Sex tinyint NULL,
    Birthday datetime NULL,
    Email nvarchar(200) NULL,
    City nvarchar(100) NULL,
    Address nvarchar(400) NULL,
    INN nvarchar(20) NULL,
    SNILS nvarchar(20) NULL,
    Passport nvarchar(50) NULL
);

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
    Name nvarchar(200) NOT NULL
);

CREATE TABLE dbo.Armchairs (
    ID int NOT NULL PRIMARY KEY,
    Name nvarchar(100) NULL,
    ID_OwnCompanies int NULL
);

CREATE TABLE dbo.Receptions (
    ID int NOT NULL PRIMARY KEY,
    ID_Patients int NOT NULL,
    PlanStart datetime NULL,
    PlanEnd datetime NULL,
    PatientAppeared datetime NULL,
    ReceptionStarted datetime NULL,
    ReceptionEnded datetime NULL,
    CheckIssued datetime NULL,
    ReceptionCanceled datetime NULL,
    ID_Staffs int NULL,
    ID_Armchairs int NULL,
    RowVersion timestamp,
    DateTimeAdded datetime NULL,
    DateTimeChanged datetime NULL
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

CREATE TABLE dbo.ServiceItemPrices (
    ID int NOT NULL PRIMARY KEY,
    Price decimal(18, 2) NOT NULL
);

CREATE TABLE dbo.OrderServiceRelation (
    ID int NOT NULL PRIMARY KEY,
    ID_Orders int NOT NULL,
    ID_ServicePrices int NOT NULL,
    CountService decimal(18, 2) NOT NULL,
    DiscountSum decimal(18, 2) NULL
);
