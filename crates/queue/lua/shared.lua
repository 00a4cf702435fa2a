-- Helpers prepended to the scripts that need them (scripts.rs joins the text; Redis sees one script).

-- Whether the stored job value is at revision `rev` ("<rev>|<envelope>").
local function at_revision(stored, rev)
  return stored and string.sub(stored, 1, #rev + 1) == rev .. '|'
end

-- Appends `nrec` audit records to `stream`, trimmed to about `maxlen`. Their values start at ARGV[first], `nf`
-- per record, in the order of `names`.
local function write_records(stream, maxlen, names, nf, first, nrec)
  for r = 0, nrec - 1 do
    local entry = {}
    for f = 1, nf do
      entry[2 * f - 1] = names[f]
      entry[2 * f] = ARGV[first + r * nf + f - 1]
    end
    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', unpack(entry))
  end
end

-- Makes sure one wake token is waiting for idle workers.
local function wake(list)
  redis.call('LPUSH', list, '1')
  redis.call('LTRIM', list, 0, 0)
end
