-- Settings of this transaction's search (docs/performance.md, Search):
-- * no JIT compilation: a page is a few thousand rows at most, and the planner's cost
--   of the branches a phrase search does not run (search/matching_phrase.sql) passes
--   jit_above_cost, so compiling took 40 ms of a 50 ms query at a million messages;
-- * 32 MB for a bitmap of the index's candidates: at the default 4 MB the 103,140
--   candidates of a phrase of two common words at a million messages made 33,258 heap
--   pages lossy, and each of their ~280,000 rows was checked again.
SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true);
