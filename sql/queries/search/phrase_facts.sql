-- Whether the search's tsquery holds a phrase (an adjacency operator: <-> or <N>),
-- which the GIN index cannot answer alone (search/matching_phrase.sql); the share of
-- documents holding its least frequent word; and how many documents hold all its
-- words, estimated (the product of the words' shares times the documents). Shares come
-- from the planner's statistics of the documents (pg_stats: the most common lexemes
-- and their frequencies); a word not among them counts as 0. `phrase` is false when
-- the statistics cannot be seen (none yet, or row-level security hides them from this
-- role: pg_stats shows a table under row-level security only to roles that bypass it),
-- and the search goes as one without a phrase (search/matching_documents.sql). And
-- whether stored documents are still being moved into search_documents (`moving`:
-- migration 0020's backfill), when the search reads email_content's too
-- (search/matching.sql with filters/full_text.sql).
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
)
SELECT coalesce(q.q ~ '<(-|[0-9]+)>', false) AND EXISTS (SELECT 1 FROM stats) AS phrase,
       coalesce((SELECT min(share) FROM shares), 0)::float8 AS least_frequency,
       coalesce((SELECT exp(sum(ln(greatest(share, 1e-9)))) FROM shares)
                * greatest((SELECT c.reltuples FROM pg_class AS c
                            WHERE c.oid = 'search_documents'::regclass), 0), 0)::float8
           AS candidates
FROM q;
