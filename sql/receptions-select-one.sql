-- One reception by IDENT id (`ident-sync test --reception-id N`).
SELECT r.ID AS ReceptionId
FROM dbo.Receptions AS r
WHERE r.ID = @receptionId
