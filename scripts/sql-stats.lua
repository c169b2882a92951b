-- Latency per SQL statement, as a DBA asks for it first: run with -m mysql or
-- -m pgsql and get, when the capture ends, one row per normalized statement
-- (string and number literals replaced by ?, runs of spaces made one, so
-- `WHERE id = 7` and `WHERE id = 8` are one statement) with its count, errors,
-- mean and p99 latency, slowest (highest mean) first.
--
--   sudo tcpkit -i eth0 -m mysql -S scripts/sql-stats.lua
--   tcpkit -r db.pcap -m pgsql -S scripts/sql-stats.lua
--
--     count  errors    mean ms     p99 ms  statement
--        12       0    201.417    210.000  SELECT SLEEP(?)
--         3       1      0.734      1.200  SELECT * FROM t WHERE id = ?
--
-- count is every request (errors and those never answered included); mean and
-- p99 are over the answered ones. p99 is kept to two significant digits of
-- microseconds (a bounded histogram per statement, not every sample).
-- Statements longer than tcpkit's 256-byte preview are grouped by that
-- preview. LOGIN and STARTUP lines (the logins) are statements too.

local stats, order = {}, {}

-- 'it''s', E'\n', X'0f', 0x0f, 12, 1.5e3, and MySQL's "x" (PostgreSQL's "x" is a
-- name); not digits inside names (t1, col_2) or placeholders ($1).
local function normalize(sql, protocol)
    local s = sql
    s = string.gsub(s, "[EeXxBbNn]?'[^']*'", "?")      -- quoted strings ('' doubles as two strings, both become ?)
    if protocol == "mysql" then
        s = string.gsub(s, '"[^"]*"', "?")             -- MySQL's double-quoted strings (PostgreSQL's are names)
    end
    s = string.gsub(s, "%?%?+", "?")                   -- 'it''s' is one literal
    s = string.gsub(s, "([^%w_$])0[xX]%x+", "%1?")
    s = string.gsub(s, "([^%w_$%.])%d+%.?%d*[eE][-+]?%d+", "%1?")
    s = string.gsub(s, "([^%w_$%.])%d+%.?%d*", "%1?")
    s = string.gsub(s, "^%d+%.?%d*", "?")
    s = string.gsub(s, "%s+", " ")
    return s
end

-- Two significant digits of a whole number of microseconds: 1234 -> 1200, 87 -> 87.
local function bucket(us)
    us = math.floor(us)
    local scale = 1
    while us >= 100 * scale do scale = scale * 10 end
    return math.floor(us / scale) * scale
end

function process_transaction(tx)
    local name = normalize(tx.request, tx.protocol)
    local s = stats[name]
    if not s then
        s = { count = 0, errors = 0, answered = 0, total = 0, hist = {} }
        stats[name] = s
        order[#order + 1] = name
    end
    s.count = s.count + 1
    if tx.status == "error" then s.errors = s.errors + 1 end
    if tx.status == "no response" or tx.status == "in flight" then return end
    s.answered = s.answered + 1
    s.total = s.total + tx.latency_us
    local b = bucket(tx.latency_us)
    s.hist[b] = (s.hist[b] or 0) + 1
end

local function p99(s)
    if s.answered == 0 then return 0 end
    local keys = {}
    for k in pairs(s.hist) do keys[#keys + 1] = k end
    table.sort(keys)
    local want = math.ceil(s.answered * 0.99)
    local seen = 0
    for _, k in ipairs(keys) do
        seen = seen + s.hist[k]
        if seen >= want then return k end
    end
    return keys[#keys]
end

local function mean(s)
    if s.answered == 0 then return 0 end
    return s.total / s.answered
end

function process_end()
    table.sort(order, function(a, b)
        local ma, mb = mean(stats[a]), mean(stats[b])
        if ma ~= mb then return ma > mb end
        return a < b
    end)
    print(string.format("%7s %7s %10s %10s  %s", "count", "errors", "mean ms", "p99 ms", "statement"))
    for _, name in ipairs(order) do
        local s = stats[name]
        print(string.format("%7u %7u %10.3f %10.3f  %s", s.count, s.errors, mean(s) / 1000, p99(s) / 1000, name))
    end
end
