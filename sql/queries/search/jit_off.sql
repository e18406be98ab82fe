-- No JIT compilation for this transaction's search: a page is a few thousand rows at
-- most, and the planner's cost of the branches a phrase search does not run
-- (search/matching_phrase.sql) passes jit_above_cost, so compiling took 40 ms of a
-- 50 ms query at a million messages (docs/performance.md, Search).
SELECT set_config('jit', 'off', true);
