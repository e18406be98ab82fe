AND m.attachment_count > 0
