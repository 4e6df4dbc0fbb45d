-- Awkward, realistic test patients. Every name, phone and document number is invented.
-- DateTimeChanged values: many rows share 2026-11-20 10:00:00.000 (checkpoint boundaries).
INSERT INTO dbo.OwnCompanies (ID, Name) VALUES
    (1, N'Клиника на Ленина'),
    (2, N'Филиал «Северный»');

INSERT INTO dbo.Armchairs (ID, NameArmchair, ID_OwnCompanies) VALUES
    (1, N'Кресло 1', 1),
    (2, N'Кресло 2', 2);

INSERT INTO dbo.ArchivingReasons (ID, Name) VALUES
    (1, N'Переезд'),
    (2, N'Смерть пациента');

INSERT INTO dbo.InfoSources (ID, Name) VALUES
    (1, N'Рекомендация знакомых'),
    (2, N'Яндекс.Карты'),
    (3, N'Вывеска');

INSERT INTO dbo.ServiceItems (ID, Name) VALUES
    (1, N'Консультация'),
    (2, N'Профессиональная гигиена'),
    (3, N'Имплантация');

INSERT INTO dbo.ServiceItemPrices (ID, Price, ID_ServiceItems) VALUES
    (1, 1500.00, 1),
    (2, 4500.50, 2),
    (3, 32000.00, 3);

INSERT INTO dbo.Persons (ID, Surname, Name, Patronymic, Phone, MobilePhone, Sex, Birthday, Email, City, Address, INN, SNILS, Passport) VALUES
    (1001, N'Иванова', N'Мария', N'Петровна', N'+7 495 765-43-21', N'8 (916) 123-45-67', 2, '1985-03-15', N'maria.ivanova@example.ru', N'Екатеринбург', N'ул. Ленина, д. 1, кв. 2', N'667101234567', N'123-456-789 01', N'6500 123456'),
    (1002, N'Петров', N'Сергей', NULL, NULL, N'+7 900 1234567', 1, '1979-11-02', NULL, N'Екатеринбург', NULL, NULL, NULL, NULL),
    (1003, N'Смирнов', N'Алексей', N'Игоревич', N'8-343-222-33-44 доб. 15', N'9001112233', 1, '1900-01-01', N'not an email', NULL, NULL, NULL, NULL, NULL),
    (1004, N'Кузнецова', N'Анна', N'Сергеевна', NULL, N'89002223344, 89003334455', 2, '2015-06-30', NULL, N'Верхняя Пышма', NULL, NULL, NULL, NULL),
    (1005, N'  Попов ', N' Дмитрий', N'', N'', N'+375 29 123-45-67', 1, '1990-01-20', N'd.popov@example.by', N'Минск', NULL, NULL, NULL, NULL),
    (1006, NULL, NULL, NULL, NULL, N'8 900 444 55 66', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (1007, N'Соколова', N'Елена', N'Викторовна', N'12-34-56', N'8 (912) 600-70-80', 2, '1968-02-29', NULL, N'Екатеринбург', NULL, NULL, NULL, NULL),
    (1008, N'Лебедев', N'Иван', N'Андреевич', NULL, N'+7 (922) 111-22-33', 1, '2031-05-05', NULL, NULL, NULL, NULL, NULL, NULL),
    (1009, N'Козлов', N'Павел', NULL, NULL, NULL, 3, '1955-12-31', NULL, NULL, NULL, NULL, NULL, NULL),
    (1010, N'Новикова', N'Ольга', N'Дмитриевна', N'8 (343) 555-66-77', N'8 (950) 555-66-77', 2, '1992-07-07', N'OLGA@EXAMPLE.RU', N'Екатеринбург', N'пр. Мира, 10', NULL, NULL, NULL),
    (1011, N'Морозов', N'Никита', N'Олегович', NULL, N'8 (950) 555-66-77', 1, '2012-09-01', NULL, N'Екатеринбург', N'пр. Мира, 10', NULL, NULL, NULL),
    (1012, N'Волкова', N'Татьяна', N'Ивановна', NULL, N'+7 912 000 00 01', 2, '1975-04-12', NULL, NULL, NULL, NULL, NULL, NULL),
    (1013, N'Алексеев', N'Георгий', N'Павлович', NULL, N'+7 912 000 00 02', 1, '1981-08-08', NULL, NULL, NULL, NULL, NULL, NULL),
    (1014, N'Яковлева', N'Вера', NULL, NULL, N'+7 912 000 00 03', 2, '1999-10-10', NULL, NULL, NULL, NULL, NULL, NULL),
    (1015, N'Степанов', N'Олег', NULL, NULL, N'+7 912 000 00 04', 1, '2001-01-01', NULL, NULL, NULL, NULL, NULL, NULL),
    (1016, N'Фёдорова', N'Юлия', N'Андреевна', NULL, N'+7 912 000 00 05', 2, '1988-11-11', NULL, NULL, NULL, NULL, NULL, NULL),
    (2001, N'Врачёва', N'Анна', N'Петровна', NULL, NULL, 2, '1980-01-01', NULL, NULL, NULL, NULL, NULL, NULL);

-- 2001 is staff, not a patient: it must never be read as one.
INSERT INTO dbo.Patients (ID_Persons, InitialBalance, ParentSNP, CardNumber, Comment, ID_InfoSources, ID_ArchivingReasons, SMSRejection, DateTimeChanged, PatientNumber, Status, FirstVisit) VALUES
    (1001, 0, NULL, N'К-1001', N'Аллергия на лидокаин.' + CHAR(13) + CHAR(10) + N'Предпочитает утренние приёмы.', 1, NULL, 0, '2026-11-20 14:05:33.123', N'1001', 1, '1985-03-15'),
    (1002, 500, NULL, N'К-1002', NULL, 2, NULL, 1, '2026-11-20 10:00:00.000', N'1002', 1, NULL),
    (1003, NULL, NULL, N'К-1003', N'<b>Важно:</b> боится уколов', NULL, NULL, NULL, '2026-11-20 10:00:00.000', N'1003', 3, NULL),
    (1004, 0, N'Кузнецов Сергей Петрович', N'К-1004', N'Ребёнок, приходит с отцом', 1, NULL, 0, '2026-11-20 10:00:00.000', N'1004', 1, NULL),
    (1005, 0, NULL, N'', REPLICATE(N'Длинный комментарий. ', 600), 3, NULL, 0, '2026-11-20 10:00:00.000', N'1005', 1, NULL),
    (1006, 0, NULL, NULL, NULL, NULL, NULL, 0, '2026-11-20 10:00:00.000', NULL, 1, NULL),
    (1007, -2500, NULL, N'К-1007', NULL, NULL, 1, 0, '2026-11-20 10:00:00.000', N'1007', 1, NULL),
    (1008, 0, NULL, N'К-1008', NULL, NULL, NULL, 0, '2026-11-20 10:00:00.000', N'1008', 7, NULL),
    (1009, 0, NULL, N'К-1009', NULL, NULL, 2, 0, '2026-11-19 09:00:00.000', N'1009', 3, NULL),
    (1010, 0, NULL, N'К-1010', NULL, 1, NULL, 0, '2026-11-18 12:00:00.000', N'1010', 1, NULL),
    (1011, 0, N'Новикова Ольга Дмитриевна', N'К-1011', NULL, 1, NULL, 0, '2026-11-18 12:00:00.000', N'1011', 1, NULL),
    (1012, 0, NULL, N'К-1012', NULL, NULL, NULL, 0, '2026-11-17 08:00:00.000', N'1012', 1, NULL),
    (1013, 0, NULL, N'К-1013', NULL, NULL, NULL, 0, '2026-11-17 08:00:00.000', N'1013', 1, NULL),
    (1014, 0, NULL, N'К-1014', NULL, NULL, NULL, 0, '2026-11-17 08:00:00.000', N'1014', 1, NULL),
    (1015, 0, NULL, N'К-1015', NULL, NULL, NULL, 0, '2026-11-17 08:00:00.000', N'1015', 1, NULL),
    (1016, 0, NULL, N'К-1016', NULL, NULL, NULL, 0, '2026-11-17 08:00:00.000', N'1016', 1, NULL);

-- Visits: ended, with a check, cancelled, and planned; 1006 and 1012-1016 have none.
INSERT INTO dbo.Receptions (ID, ID_Patients, PlanStart, PlanEnd, ReceptionEnded, CheckIssued, ReceptionCanceled, ID_Armchairs, DateTimeAdded, DateTimeChanged) VALUES
    (1, 1001, '2019-06-01 10:30', '2019-06-01 11:00', '2019-06-01 11:05', '2019-06-01 11:10', NULL, 1, '2019-05-20 09:00', '2019-06-01 11:10'),
    (2, 1001, '2026-11-10 09:00', '2026-11-10 10:00', '2026-11-10 10:05', NULL, NULL, 1, '2026-11-01 09:00', '2026-11-10 10:05'),
    (3, 1001, '2026-11-25 09:00', '2026-11-25 10:00', NULL, NULL, NULL, 1, '2026-11-15 09:00', '2026-11-15 09:00'),
    (4, 1002, '2024-02-01 12:00', '2024-02-01 13:00', NULL, NULL, '2024-01-31 18:00', 2, '2024-01-20 09:00', '2024-01-31 18:00'),
    (5, 1002, '2024-03-01 12:00', '2024-03-01 13:00', NULL, '2024-03-01 13:10', NULL, 2, '2024-02-20 09:00', '2024-03-01 13:10'),
    (6, 1004, '2025-09-01 15:00', '2025-09-01 15:30', '2025-09-01 15:40', '2025-09-01 15:45', NULL, 1, '2025-08-25 09:00', '2025-09-01 15:45'),
    (7, 1007, '2023-05-05 10:00', '2023-05-05 11:00', '2023-05-05 11:00', '2023-05-05 11:05', NULL, 2, '2023-05-01 09:00', '2023-05-05 11:05'),
    (8, 1010, '2026-11-19 16:00', '2026-11-19 17:00', '2026-11-19 17:00', '2026-11-19 17:05', NULL, 1, '2026-11-10 09:00', '2026-11-19 17:05');

-- The doctor of the recent receptions is a person (2001); the cancelled one has its reason (GUESSED column).
UPDATE dbo.Receptions SET ID_Staffs = 2001 WHERE ID IN (2, 3, 8);
INSERT INTO dbo.ReceptionCancelReasons (ID, Name) VALUES
    (1, N'Заболел'),
    (2, N'Неявка');
UPDATE dbo.Receptions SET ID_ReceptionCancelReasons = 1 WHERE ID = 4;

-- As real IDENT data has them: time blocked without a patient (9); a visit cancelled by its
-- reason alone, a no-show, whose doctor and chair are only in its slot (10); a visit nobody came
-- to and nobody marked (11).
INSERT INTO dbo.Receptions (ID, ID_Patients, PlanStart, PlanEnd, ID_Armchairs, ID_ReceptionCancelReasons, DateTimeAdded, DateTimeChanged) VALUES
    (9, NULL, '2026-11-12 09:00', '2026-11-12 10:00', 1, NULL, '2026-11-01 09:00', '2026-11-01 09:00'),
    (10, 1004, '2026-11-12 12:00', '2026-11-12 13:00', NULL, 2, '2026-11-01 09:00', '2026-11-12 13:30'),
    (11, 1007, '2026-11-13 10:00', '2026-11-13 11:00', 1, NULL, '2026-11-01 09:00', '2026-11-01 09:00');
INSERT INTO dbo.CurrentTimeTable (ID, ID_Receptions, ID_Staffs, ID_Armchairs) VALUES
    (1, 10, 2001, 2),
    (2, 10, 2001, 2),
    (3, NULL, 2001, 1);

INSERT INTO dbo.Orders (ID, DateTimeOrder, ID_OwnCompanies, ID_Receptions, ID_Patients, DateTimeAdded, DateTimeChanged) VALUES
    (1, '2019-06-01 11:10', 1, 1, 1001, '2019-06-01 11:10', '2019-06-01 11:10'),
    (2, '2026-11-10 10:05', 2, 2, 1001, '2026-11-10 10:05', '2026-11-10 10:05'),
    (3, '2024-03-01 13:10', 2, 5, 1002, '2024-03-01 13:10', '2024-03-01 13:10'),
    (4, '2025-09-01 15:45', 1, 6, 1004, '2025-09-01 15:45', '2025-09-01 15:45'),
    (5, '2023-05-05 11:05', 2, 7, 1007, '2023-05-05 11:05', '2023-05-05 11:05'),
    (6, '2026-11-19 17:05', 1, 8, 1010, '2026-11-19 17:05', '2026-11-19 17:05');

INSERT INTO dbo.OrderServiceRelation (ID, ID_Orders, ID_ServicePrices, CountService, DiscountSum, DateTimeChanged) VALUES
    (1, 1, 1, 1, 0, '2019-06-01 11:10'),
    (2, 1, 2, 2, 500, '2019-06-01 11:10'),
    (3, 2, 3, 1, 1600, '2026-11-10 10:05'),
    (4, 3, 1, 1, NULL, '2024-03-01 13:10'),
    (5, 4, 2, 1, 0, '2025-09-01 15:45'),
    (6, 5, 3, 1, 0, '2023-05-05 11:05'),
    (7, 6, 1, 2, 0, '2026-11-19 17:05');

-- Persons.DateTimeChanged (GUESSED): old for everyone but 1013, whose phone changed in Persons only.
UPDATE dbo.Persons SET DateTimeChanged = '2026-01-01 00:00';
UPDATE dbo.Persons SET DateTimeChanged = '2026-11-20 12:00' WHERE ID = 1013;

INSERT INTO dbo.PaymentsIn (ID, DateTimePayment, ID_OwnCompanies, ID_Patients, Payment, DateTimeAdded, DateTimeChanged) VALUES
    (1, '2019-06-01 11:15', 1, 1001, 10001.00, '2019-06-01 11:15', '2019-06-01 11:15'),
    (2, '2026-11-10 10:10', 2, 1001, 40000.00, '2026-11-10 10:10', '2026-11-10 10:10'),
    (3, '2024-03-01 13:15', 2, 1002, 1000.00, '2024-03-01 13:15', '2024-03-01 13:15'),
    (4, '2025-09-01 15:50', 1, 1004, 4500.50, '2025-09-01 15:50', '2025-09-01 15:50'),
    (5, '2023-05-05 11:10', 2, 1007, 20000.00, '2023-05-05 11:10', '2023-05-05 11:10'),
    (6, '2026-11-21 09:00', 1, 1012, 3000.00, '2026-11-21 09:00', '2026-11-21 09:00');
