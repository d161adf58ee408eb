-- fksim.lua: Wireshark dissector for fksim's proprietary DECT content (EMC 0002).
--
-- fksim carries DND and call-forwarding requests and states between handset and base in
-- ESCAPE-TO-PROPRIETARY (EN 300 175-5 §7.7.45) with EMC 0002: proprietary information elements
-- (PIEs) back to back, "PIE id | length | data". That encoding is fksim's CHOICE (the vendor's is not
-- public); docs/dect-proprietary.md defines it with golden vectors, dect/proprietary.py is the code.
-- Wireshark's own dect_nwk (4.2 and later) shows such an escape by its EMC only; this script decodes
-- the PIEs under "fksim DECT proprietary (EMC 0002)", with filterable fields:
--
--   fksim_emc.pie        PIE id (3E feature request, 3F feature state, 59 acknowledgement, 50 PIN)
--   fksim_emc.feature    feature id (22 call diversion, 30 do not disturb)
--   fksim_emc.diversion  diversion type (0 all calls = CFA, 1 busy = CFB, 2 no answer = CFNA)
--   fksim_emc.state      0 off, 1 on
--   fksim_emc.rings      CFNA ring count
--   fksim_emc.target     diversion target number
--   fksim_emc.pin        registration PIN
--   fksim_emc.summary    one line, e.g. "feature-request dnd on"
--
-- It also hands SIP bodies of type application/x-as-feature-event+xml (the FKS XML parts) to
-- Wireshark's XML dissector, so their elements show without a "Decode As" for the media type.
--
-- It reads DECT NWK frames as fksim's captures carry them: exported PDUs (linktype 252) naming the
-- dissector "dect_nwk", and DLT_USER0 (147) frames handed to dect_nwk. It works as a postdissector,
-- so it needs nothing from Wireshark's dect_nwk. Wireshark 4.0 (Debian 12) has no dect_nwk at all:
-- there this script also registers a small "dect_nwk" of its own (message type and IEs by name), so
-- fksim's captures read on 4.0 too; on 4.2 and later the built-in dect_nwk is left alone.
--
-- Load it for one run:   tshark -X lua_script:tools/wireshark/fksim.lua -r run.pcapng -Y fksim_emc -V
-- or for good: copy it to your personal Lua plugins folder (Wireshark: Help > About > Folders).

local EMC_FKSIM = 0x0002

local PIE_NAMES = { [0x3E] = "feature-request", [0x3F] = "feature-state", [0x50] = "pin", [0x59] = "ack" }
local FEATURE_NAMES = { [0x22] = "call diversion", [0x30] = "do not disturb" }
local DIVERSION_NAMES = { [0] = "all calls (CFA)", [1] = "busy (CFB)", [2] = "no answer (CFNA)" }
local DIVERSION_SHORT = { [0] = "cfa", [1] = "cfb", [2] = "cfna" }
local STATE_NAMES = { [0] = "off", [1] = "on" }

local proto = Proto("fksim_emc", "fksim DECT proprietary (EMC 0002)")
local f = {
  emc = ProtoField.uint16("fksim_emc.emc", "EMC", base.HEX),
  pie = ProtoField.uint8("fksim_emc.pie", "PIE", base.HEX, PIE_NAMES),
  length = ProtoField.uint8("fksim_emc.length", "Length", base.DEC),
  feature = ProtoField.uint8("fksim_emc.feature", "Feature", base.HEX, FEATURE_NAMES),
  diversion = ProtoField.uint8("fksim_emc.diversion", "Diversion type", base.DEC, DIVERSION_NAMES),
  state = ProtoField.uint8("fksim_emc.state", "State", base.DEC, STATE_NAMES),
  rings = ProtoField.uint8("fksim_emc.rings", "Rings", base.DEC),
  target = ProtoField.string("fksim_emc.target", "Target number"),
  pin = ProtoField.string("fksim_emc.pin", "PIN"),
  summary = ProtoField.string("fksim_emc.summary", "Summary"),
}
proto.fields = { f.emc, f.pie, f.length, f.feature, f.diversion, f.state, f.rings, f.target, f.pin, f.summary }
local malformed = ProtoExpert.new("fksim_emc.malformed", "fksim EMC 0002 content does not decode",
                                  expert.group.MALFORMED, expert.severity.ERROR)
proto.experts = { malformed }

-- ---------------------------------------------------------------------------------------- PIEs

-- Feature data of PIE 3E / 3F: returns a short text ("dnd on", "cfna on 3002 rings 4") or nil, error.
local function feature_data(tvb, offset, len, tree)
  if len < 1 then return nil, "no feature id" end
  local feature = tvb(offset, 1):uint()
  tree:add(f.feature, tvb(offset, 1))
  if feature == 0x30 then
    if len ~= 2 then return nil, "DND data is 2 octets" end
    local state = tvb(offset + 1, 1):uint()
    tree:add(f.state, tvb(offset + 1, 1))
    if STATE_NAMES[state] == nil then return nil, "state is not 0 or 1" end
    return "dnd " .. STATE_NAMES[state]
  elseif feature == 0x22 then
    if len < 4 then return nil, "call diversion data is at least 4 octets" end
    local kind, state, rings = tvb(offset + 1, 1):uint(), tvb(offset + 2, 1):uint(), tvb(offset + 3, 1):uint()
    tree:add(f.diversion, tvb(offset + 1, 1))
    tree:add(f.state, tvb(offset + 2, 1))
    tree:add(f.rings, tvb(offset + 3, 1))
    local target = ""
    if len > 4 then
      target = tvb(offset + 4, len - 4):string()
      tree:add(f.target, tvb(offset + 4, len - 4))
    end
    if DIVERSION_SHORT[kind] == nil then return nil, "unknown diversion type" end
    if STATE_NAMES[state] == nil then return nil, "state is not 0 or 1" end
    local text = DIVERSION_SHORT[kind] .. " " .. STATE_NAMES[state]
    if target ~= "" then text = text .. " " .. target end
    if kind == 2 then text = text .. " rings " .. rings end
    return text
  end
  return nil, string.format("unknown feature id 0x%02X", feature)
end

local function ack_data(tvb, offset, len, tree)
  if len < 1 then return nil, "no feature id" end
  local feature = tvb(offset, 1):uint()
  tree:add(f.feature, tvb(offset, 1))
  if feature == 0x30 and len == 1 then return "dnd" end
  if feature == 0x22 and len == 2 then
    local kind = tvb(offset + 1, 1):uint()
    tree:add(f.diversion, tvb(offset + 1, 1))
    if DIVERSION_SHORT[kind] then return DIVERSION_SHORT[kind] end
    return nil, "unknown diversion type"
  end
  return nil, "acknowledgement data does not fit its feature"
end

-- The PIEs of one escape's content (after the EMC); returns their summaries.
local function dissect_pies(tvb, offset, stop, pinfo, tree)
  local texts = {}
  while offset < stop do
    if offset + 2 > stop then
      tree:add_proto_expert_info(malformed, "a PIE header runs past the end of the escape")
      return texts
    end
    local id, len = tvb(offset, 1):uint(), tvb(offset + 1, 1):uint()
    if offset + 2 + len > stop then
      tree:add_proto_expert_info(malformed, "a PIE runs past the end of the escape")
      return texts
    end
    local name = PIE_NAMES[id] or string.format("PIE 0x%02X", id)
    local sub = tree:add(proto, tvb(offset, 2 + len), name)
    sub:add(f.pie, tvb(offset, 1))
    sub:add(f.length, tvb(offset + 1, 1))
    local text, err
    if id == 0x3E or id == 0x3F then
      text, err = feature_data(tvb, offset + 2, len, sub)
    elseif id == 0x59 then
      text, err = ack_data(tvb, offset + 2, len, sub)
    elseif id == 0x50 then
      if len >= 4 and len <= 8 then
        sub:add(f.pin, tvb(offset + 2, len))
        text = "****"
      else
        err = "a PIN is 4 to 8 digits"
      end
    else
      err = string.format("unknown PIE id 0x%02X", id)
    end
    if text then
      local summary = name .. " " .. text
      sub:append_text(": " .. text)
      sub:add(f.summary, tvb(offset, 2 + len), summary):set_generated()
      texts[#texts + 1] = summary
    else
      sub:add_proto_expert_info(malformed, err)
    end
    offset = offset + 2 + len
  end
  return texts
end

-- ---------------------------------------------------------------------------------------- NWK walk

-- The IEs of an S-format NWK message (EN 300 175-5 §7.5): calls visit(id, start, total, content_start,
-- content_len) for each; stops quietly at an IE that runs past the end.
local function each_ie(tvb, offset, visit)
  local stop = tvb:len()
  while offset < stop do
    local id = tvb(offset, 1):uint()
    if id >= 0x80 then
      local size = (math.floor(id / 16) % 8 == 6) and 2 or 1   -- double-octet element: bits 7-5 = 110
      if offset + size > stop then return end
      visit(id, offset, size, offset + 1, size - 1)
      offset = offset + size
    else
      if offset + 2 > stop then return end
      local len = tvb(offset + 1, 1):uint()
      if offset + 2 + len > stop then return end
      visit(id, offset, 2 + len, offset + 2, len)
      offset = offset + 2 + len
    end
  end
end

-- Decode every fksim escape of the NWK message that starts at `offset` of `tvb`.
local function dissect_escapes(tvb, offset, pinfo, tree)
  if tvb:len() < offset + 2 then return end
  local summaries = {}
  each_ie(tvb, offset + 2, function(id, start, total, cstart, clen)
    if id ~= 0x7B or clen < 3 then return end
    if tvb(cstart, 1):uint() ~= 0x81 or tvb(cstart + 1, 2):uint() ~= EMC_FKSIM then return end
    local sub = tree:add(proto, tvb(start, total))
    sub:add(f.emc, tvb(cstart + 1, 2))
    for _, text in ipairs(dissect_pies(tvb, cstart + 3, cstart + clen, pinfo, sub)) do
      summaries[#summaries + 1] = text
    end
  end)
  if #summaries > 0 then
    pinfo.cols.info:append(" [fksim " .. table.concat(summaries, "; ") .. "]")
  end
end

-- Where the NWK message starts in a frame: after the exported-PDU tags of a dect_nwk export
-- (linktype 252), or at 0 for DLT_USER0; nil for any other frame.
local prot_name = Field.new("exported_pdu.prot_name")
local encap = Field.new("frame.encap_type")
local WTAP_ENCAP_USER0 = 45
local function nwk_offset(tvb)
  local name = prot_name()
  if name ~= nil then
    if tostring(name.value) ~= "dect_nwk" then return nil end
    local offset = 0
    while offset + 4 <= tvb:len() do
      local tag, len = tvb(offset, 2):uint(), tvb(offset + 2, 2):uint()
      offset = offset + 4
      if tag == 0 then return offset end
      offset = offset + len
    end
    return nil
  end
  local kind = encap()
  if kind ~= nil and kind.value == WTAP_ENCAP_USER0 then return 0 end
  return nil
end

function proto.dissector(tvb, pinfo, tree)
  local offset = nwk_offset(tvb)
  if offset ~= nil then dissect_escapes(tvb, offset, pinfo, tree) end
end
register_postdissector(proto)

-- ---------------------------------------------------------------------------------------- 4.0 only

-- Wireshark before 4.2 has no dect_nwk: give exported PDUs naming it somewhere to go, showing the
-- message and its IEs by name (the messages fksim uses, dect-nwk.md §1).
local found, existing = pcall(Dissector.get, "dect_nwk")   -- 4.0 returns nil, later versions raise
if not found or existing == nil then
  local PD_NAMES = { [0] = "LCE", [3] = "CC", [4] = "CISS", [5] = "MM", [6] = "CLMS", [7] = "COMS" }
  local MESSAGES = {
    [0] = { [0x71] = "LCE-PAGE-RESPONSE", [0x72] = "LCE-PAGE-REJECT" },
    [3] = { [0x05] = "CC-SETUP", [0x02] = "CC-CALL-PROC", [0x01] = "CC-ALERTING", [0x07] = "CC-CONNECT",
            [0x0F] = "CC-CONNECT-ACK", [0x7B] = "CC-INFO", [0x60] = "CC-IWU-INFO", [0x4D] = "CC-RELEASE",
            [0x5A] = "CC-RELEASE-COM" },
    [4] = { [0x64] = "CISS-REGISTER", [0x62] = "FACILITY", [0x5A] = "CISS-RELEASE-COM" },
    [5] = { [0x40] = "AUTHENTICATION-REQUEST", [0x41] = "AUTHENTICATION-REPLY", [0x42] = "KEY-ALLOCATE",
            [0x43] = "AUTHENTICATION-REJECT", [0x44] = "ACCESS-RIGHTS-REQUEST", [0x45] = "ACCESS-RIGHTS-ACCEPT", [0x47] = "ACCESS-RIGHTS-REJECT",
            [0x54] = "LOCATE-REQUEST", [0x55] = "LOCATE-ACCEPT", [0x57] = "LOCATE-REJECT", [0x52] = "INFO-SUGGEST" },
  }
  local IE_NAMES = {
    [0x01] = "INFO-TYPE", [0x0A] = "AUTH-TYPE", [0x0B] = "ALLOCATION-TYPE", [0x0C] = "RAND", [0x0D] = "RES",
    [0x0E] = "RS", [0x6C] = "CALLING-PARTY-NUMBER", [0x05] = "PORTABLE-IDENTITY", [0x06] = "FIXED-IDENTITY", [0x07] = "LOCATION-AREA",
    [0x28] = "MULTI-DISPLAY", [0x2C] = "MULTI-KEYPAD", [0x38] = "FEATURE-ACTIVATE", [0x39] = "FEATURE-INDICATE",
    [0x60] = "REJECT-REASON", [0x70] = "CALLED-PARTY-NUMBER", [0x77] = "IWU-TO-IWU",
    [0x7B] = "ESCAPE-TO-PROPRIETARY", [0x7D] = "EVENTS-NOTIFICATION", [0xA1] = "SENDING-COMPLETE",
    [0xE0] = "BASIC-SERVICE", [0xE2] = "RELEASE-REASON", [0xE4] = "SIGNAL", [0xE8] = "SINGLE-DISPLAY",
    [0xE9] = "SINGLE-KEYPAD",
  }
  local nwk = Proto("dect_nwk", "DECT NWK (fksim.lua, for Wireshark before 4.2)")
  local nf = {
    ti_flag = ProtoField.uint8("dect_nwk.ti_flag", "TI flag", base.DEC, nil, 0x80),
    tv = ProtoField.uint8("dect_nwk.tv", "Transaction value", base.DEC, nil, 0x70),
    pd = ProtoField.uint8("dect_nwk.pd", "Protocol discriminator", base.DEC, PD_NAMES, 0x0F),
    message = ProtoField.uint8("dect_nwk.message_type", "Message type", base.HEX),
    ie = ProtoField.uint8("dect_nwk.ie", "Information element", base.HEX, IE_NAMES),
  }
  nwk.fields = { nf.ti_flag, nf.tv, nf.pd, nf.message, nf.ie }
  function nwk.dissector(tvb, pinfo, tree)
    if tvb:len() < 2 then return 0 end
    pinfo.cols.protocol = "DECT NWK"
    local pd, code = tvb(0, 1):uint() % 16, tvb(1, 1):uint()
    local name = (MESSAGES[pd] or {})[code] or string.format("%s message 0x%02X", PD_NAMES[pd] or "PD " .. pd, code)
    pinfo.cols.info:set(name)
    local sub = tree:add(nwk, tvb(), "DECT NWK: " .. name)
    sub:add(nf.ti_flag, tvb(0, 1))
    sub:add(nf.tv, tvb(0, 1))
    sub:add(nf.pd, tvb(0, 1))
    sub:add(nf.message, tvb(1, 1)):append_text(" (" .. name .. ")")
    each_ie(tvb, 2, function(id, start, total)
      sub:add(nf.ie, tvb(start, 1)):append_text(", " .. total .. " octets")
    end)
    return tvb:len()
  end
end

-- ---------------------------------------------------------------------------------------- SIP bodies

-- The as-feature-event bodies (BroadWorks FKS, ECMA-323 XML) go to Wireshark's XML dissector, so their
-- elements show without `-d media_type==application/x-as-feature-event+xml,xml`.
local xml = Dissector.get("xml")
if xml ~= nil then
  DissectorTable.get("media_type"):add("application/x-as-feature-event+xml", xml)
end
