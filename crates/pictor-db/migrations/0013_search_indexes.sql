-- Two indexes for the search and map pages at 100,000 photos.
--
-- The search page suggests the owner's cameras, the most used first: with
-- this index that is a walk of one owner's entries (without it, a scan of
-- every photo: 115 ms).
CREATE INDEX images_by_camera ON images (owner, camera);

-- The whole-world map groups the owner's placed photos into 15-degree
-- cells (`pictor_db::WORLD_CELL`). An index on those very expressions
-- hands the rows over already grouped, so no sort is needed (50 ms to 22
-- ms in SQLite). A query uses it only when it spells the expressions the
-- same way, with the cell size written out as a number.
CREATE INDEX images_by_world_cell ON images (
    owner,
    ((latitude_e6 + 90000000) / 15000000),
    ((longitude_e6 + 180000000) / 15000000),
    latitude_e6,
    longitude_e6,
    id
);
