-- The prefecture's own words for a period's 定期報告案内 and 督促 mails (a contact, a reminder of
-- what changed this 年度); NULL when it added none. Keep in step with ../sqlite/.
ALTER TABLE reporting_period ADD COLUMN mail_message TEXT;
