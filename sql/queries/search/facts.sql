-- What a search with words needs to know before its query, in one round trip (there
-- were four: moving, phrase_facts, estimate_facts and jit_off; docs/performance.md,
-- "Round trips of a search"). Nothing here reads a tenant's rows.
-- * `moving`: stored documents are still being moved into search_documents (migration
--   0020's backfill): the search reads email_content's too (search/matching.sql with
--   filters/full_text.sql), and the other facts go unused.
-- * `phrase`: the tsquery holds an adjacency operator (<-> or <N>), which the GIN index
--   cannot answer alone (search/matching_phrase.sql); false when the planner's
--   statistics cannot be seen (none yet, or row-level security hides them from this
--   role: pg_stats shows a table under row-level security only to roles that bypass
--   it), and the search goes as one without a phrase (search/matching_documents.sql).
-- * `least_frequency`: the share of documents holding the least frequent word, and
--   `candidates`: the documents holding all the words, estimated (the product of the
--   words' shares times the documents). Shares come from pg_stats (the most common
--   lexemes and their frequencies); a word not among them counts as 0.
-- * `documents`: the planner's count of documents (all tenants', pg_class.reltuples),
--   and `negated`: the words hold a negation (`-word`), which the index answers by
--   reading the whole of the negated word's entries: once for all candidates, not once
--   for each span of weeks (search/matching_weeks.sql). With them the service knows
--   whether the planner's estimate of the matches (search/estimate.sql) can change
--   the plan at all before asking for it.
-- * `jit`: no JIT compilation for the rest of this transaction (search/jit_off.sql).
-- params: language text, words text, subjects text[], filenames text[]
WITH q AS (
    SELECT pmail_search_query(%(language)s::regconfig, %(words)s, %(subjects)s,
                              %(filenames)s)::text AS q
), stats AS (
    SELECT s.most_common_elems::text::text[] AS elems, s.most_common_elem_freqs AS freqs
    FROM pg_stats AS s
    WHERE s.attname = 'document'
      AND format('%%I.%%I', s.schemaname, s.tablename)::regclass
          = 'search_documents'::regclass
), shares AS (
    SELECT coalesce((SELECT st.freqs[array_position(st.elems, w.lexeme)] FROM stats AS st),
                    0)::float8 AS share
    FROM q,
         regexp_matches(q.q, '''((?:[^'']|'''')+)''', 'g') AS m (g),
         LATERAL (SELECT replace(m.g[1], '''''', '''') AS lexeme) AS w
), documents AS (
    SELECT greatest((SELECT c.reltuples FROM pg_class AS c
                     WHERE c.oid = 'search_documents'::regclass), 0)::float8 AS n
)
SELECT pmail_search_moving() AS moving,
       coalesce(q.q ~ '<(-|[0-9]+)>', false) AND EXISTS (SELECT 1 FROM stats) AS phrase,
       coalesce((SELECT min(share) FROM shares), 0)::float8 AS least_frequency,
       coalesce((SELECT exp(sum(ln(greatest(share, 1e-9)))) FROM shares)
                * (SELECT n FROM documents), 0)::float8 AS candidates,
       (SELECT n FROM documents) AS documents,
       coalesce(q.q ~ '!', false) AS negated,
       set_config('jit', 'off', true) AS jit
FROM q;
