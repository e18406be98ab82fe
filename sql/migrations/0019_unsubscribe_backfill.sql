-- Mail stored before 0016 was never read for unsubscribe requests: its ordinary
-- inbound messages have email_messages.unsubscribe NULL whatever they said. This
-- backfill reads each of them once more (the rule needs the raw message: its
-- Delivered-To and the text the sender wrote), in committed batches in
-- (tenant_id, storage_key) order; the suppression triggers keep the list in step.
-- Rows stored from 0016 on were read by the writer and are not looked at again.
INSERT INTO pmail_backfills (name)
SELECT 'unsubscribe:stored'
WHERE EXISTS (SELECT 1 FROM email_messages
              WHERE direction = 'inbound' AND message_type = 'email'
                AND unsubscribe IS NULL);
