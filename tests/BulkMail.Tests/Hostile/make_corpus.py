import json, base64, copy
out = []
def add(**c):
    out.append(c)
V = {"mode":"Resumes","scope":{"kind":"Checked","ids":[10001]},"mailFields":["Resume.P_Mail"],"subject":"s","body":"b"}
EP = [("submit","/api/mailings"),("preview","/api/mailings/preview"),("test","/api/mailings/test")]
def with_(path, value, base=V):
    o = copy.deepcopy(base)
    parts = path.split(".")
    n = o
    for p in parts[:-1]:
        if not isinstance(n.get(p), dict): n[p] = {}
        n = n[p]
    if value is DEL: n.pop(parts[-1], None)
    else: n[parts[-1]] = value
    return o
DEL = object()

# 1. wrong JSON types / bad values in every submit field, on submit, preview and test
types = [
 ("mode","number",3,"mode"),("mode","bool",True,"mode"),("mode","object",{},"mode"),("mode","array",["Resumes"],"mode"),
 ("mode","flag syntax","Resumes, Jobs","mode"),("mode","numeric string","1","mode"),("mode","unknown","Nope","mode"),("mode","empty","","mode"),("mode","missing",DEL,"mode"),
 ("anchorId","string","abc","anchorId"),("anchorId","fraction",1.5,"anchorId"),("anchorId","bool",True,"anchorId"),
 ("scope","string","x","scope"),("scope","array",[1,2],"scope"),("scope","number",5,"scope"),("scope","missing",DEL,"scope"),
 ("scope.kind","number",1,"scope.kind"),("scope.kind","flag syntax","Displayed, Checked","scope.kind"),("scope.kind","numeric string","0","scope.kind"),
 ("scope.kind","flag syntax no space","All,Checked","scope.kind"),("scope.kind","bool",True,"scope.kind"),("scope.kind","unknown","Everything","scope.kind"),
 ("scope.ids","string","10001","scope.ids"),("scope.ids","object",{"a":1},"scope.ids"),("scope.ids","fraction",[1.5],"scope.ids"),
 ("scope.ids","string item",["x"],"scope.ids"),("scope.ids","null item",[None],"scope.ids"),("scope.ids","empty",[],"scope.ids"),("scope.ids","nested",[[10001]],"scope.ids"),
 ("scope.query","string","x","scope.query"),("scope.query","array",[],"scope.query"),
 ("mailFields","string","Resume.P_Mail","mailFields"),("mailFields","object",{"a":1},"mailFields"),("mailFields","number item",[1],"mailFields"),
 ("mailFields","null item",[None],"mailFields"),("mailFields","empty",[],"mailFields"),("mailFields","another resource's",["Job.P_Mail"],"mailFields"),
 ("mailFields","unknown",["Resume.P_Nope"],"mailFields"),("mailFields","not a mail field",["Resume.P_Name"],"mailFields"),
 ("templateId","number",5,"templateId"),("templateId","array",[],"templateId"),("templateId","unknown","nope","templateId"),("templateId","path","../../x","templateId"),
 ("subject","number",5,"subject"),("subject","array",["s"],"subject"),("subject","object",{},"subject"),("subject","missing",DEL,"subject"),("subject","blank","   ","subject"),
 ("body","number",5,"body"),("body","array",["b"],"body"),("body","bool",False,"body"),
 ("attachments","string","x","attachments"),("attachments","array",[],"attachments"),
 ("attachments.uploadIds","string","x","attachments.uploadIds"),("attachments.uploadIds","number item",[5],"attachments.uploadIds"),("attachments.uploadIds","unknown",["nope"],"attachments.uploadIds"),
 ("attachments.recordAttachmentIds","string item",["x"],"attachments.recordAttachmentIds"),("attachments.recordAttachmentIds","fraction",[1.5],"attachments.recordAttachmentIds"),
 ("attachments.zipPassword","number",5,"attachments.zipPassword"),("attachments.zipEncryption","unknown","Rot13","attachments.zipEncryption"),
 ("attachments.zipEncryption","number",1,"attachments.zipEncryption"),("attachments.zipEncryption","flag syntax","Aes256, ZipCrypto","attachments.zipEncryption"),
 ("phase","string","x","phase"),("phase.optionAlias","number",5,"phase.optionAlias"),("phase.optionAlias","unknown","Option.Nope","phase.optionAlias"),
 ("phase.memo","number",5,"phase.memo"),
 ("logActivity","string","yes","logActivity"),("logActivity","number",1,"logActivity"),("logActivity","null",None,"logActivity"),
 ("idempotencyKey","number",5,"idempotencyKey"),("idempotencyKey","array",[],"idempotencyKey"),
 ("hold","string","true","hold"),("hold","number",1,"hold"),
 ("previewRecordId","string","x","previewRecordId"),("previewRecordId","fraction",1.5,"previewRecordId"),
 ("allowNearMissTags","string","yes","allowNearMissTags"),
]
for ep, path in EP:
    for field, what, value, expect in types:
        add(name=f"{ep}: {field} {what}", **{"class":"json-types"}, method="POST", path=path, json=with_(field, value), expectField=expect)
# overflowing numbers as raw text (JSON cannot hold them in Python's json without losing them)
for ep, path in EP:
    add(name=f"{ep}: anchorId overflows long", **{"class":"json-numbers"}, method="POST", path=path,
        body='{"mode":"Resumes","anchorId":99999999999999999999999,"scope":{"kind":"Checked","ids":[10001]},"mailFields":["Resume.P_Mail"],"subject":"s","body":"b"}', expectField="anchorId")
    add(name=f"{ep}: id overflows long", **{"class":"json-numbers"}, method="POST", path=path,
        body='{"mode":"Resumes","scope":{"kind":"Checked","ids":[10001,9223372036854775808]},"mailFields":["Resume.P_Mail"],"subject":"s","body":"b"}', expectField="scope.ids")
    add(name=f"{ep}: id 1e400", **{"class":"json-numbers"}, method="POST", path=path,
        body='{"mode":"Resumes","scope":{"kind":"Checked","ids":[1e400]},"mailFields":["Resume.P_Mail"],"subject":"s","body":"b"}', expectField="scope.ids")
    add(name=f"{ep}: NaN id", **{"class":"json-numbers"}, method="POST", path=path,
        body='{"mode":"Resumes","scope":{"kind":"Checked","ids":[NaN]},"mailFields":["Resume.P_Mail"],"subject":"s","body":"b"}')
    add(name=f"{ep}: negative zero exponent id", **{"class":"json-numbers"}, method="POST", path=path,
        body='{"mode":"Resumes","scope":{"kind":"Checked","ids":[-1e-7]},"mailFields":["Resume.P_Mail"],"subject":"s","body":"b"}', expectField="scope.ids")
    add(name=f"{ep}: previewRecordId overflow", **{"class":"json-numbers"}, method="POST", path=path,
        body='{"mode":"Resumes","previewRecordId":184467440737095516160,"scope":{"kind":"Checked","ids":[10001]},"mailFields":["Resume.P_Mail"],"subject":"s","body":"b"}', expectField="previewRecordId")
    add(name=f"{ep}: 100,001 ids (over the cap)", **{"class":"sizes"}, method="POST", path=path, json=V, gen={"scope.ids":{"numbers":{"from":10001,"count":100001}}}, expectField="scope.ids")

# 2. malformed JSON on every JSON endpoint
JEP = EP + [("templates POST","/api/templates"),("templates PUT","/api/templates/$MY_TEMPLATE")]
raw = [
 ("truncated", '{"mode":"Resumes","scope":{"kind":', None),
 ("truncated string", '{"mode":"Resu', None),
 ("trailing garbage", json.dumps(V)+"}", None),
 ("single quotes", "{'mode':'Resumes'}", None),
 ("comment", '{/* hi */"mode":"Resumes"}', None),
 ("trailing comma", '{"mode":"Resumes",}', None),
 ("duplicate keys of different types", '{"mode":"Resumes","mode":3}', None),
 ("null body", "null", None),
 ("array body", "[]", None),
 ("number body", "5", None),
 ("string body", '"hello"', None),
 ("empty body", "", None),
 ("whitespace body", "   \n\t ", None),
 ("lone surrogate escape", '{"mode":"Resumes","subject":"\\ud800","body":"b"}', None),
 ("NUL escape in name", '{"name":"a\\u0000b","subject":"s","body":"b"}', None),
 ("unescaped control char", '{"mode":"Resumes","subject":"a\u0001b"}', None),
 ("unquoted key", '{mode:"Resumes"}', None),
]
for ep, path in JEP:
    for what, body, field in raw:
        extra = {"expectStatus":[200,499], "mayStore":True, "note":"accepted today: a NUL in a template name is stored (not a 5xx)"} if what.startswith("NUL") and ep.startswith("templates") else {}
        add(name=f"{ep}: {what}", **{"class":"json-syntax"}, method="PUT" if "PUT" in ep else "POST", path=path, body=body, **({"expectField":field} if field else {}), **extra)
    add(name=f"{ep}: 10,000-deep arrays", **{"class":"json-nesting"}, method="PUT" if "PUT" in ep else "POST", path=path,
        bodyGen={"prefix":'{"mode":"Resumes","scope":{"kind":"Checked","ids":', "repeat":"[", "times":10000, "suffixRepeat":"]", "suffixTimes":10000, "suffix":"}}"})
    add(name=f"{ep}: 10,000-deep objects", **{"class":"json-nesting"}, method="PUT" if "PUT" in ep else "POST", path=path,
        bodyGen={"prefix":'{"x":', "repeat":'{"a":', "times":10000, "suffix":"1", "suffixRepeat":"}", "suffixTimes":10001})
    add(name=f"{ep}: 65-deep arrays in an unknown property", **{"class":"json-nesting"}, method="PUT" if "PUT" in ep else "POST", path=path,
        bodyGen={"prefix":'{"zzz":', "repeat":"[", "times":65, "suffix":"]"*65+"}"})
    add(name=f"{ep}: unclosed 100,000 arrays", **{"class":"json-nesting"}, method="PUT" if "PUT" in ep else "POST", path=path,
        bodyGen={"prefix":'{"x":', "repeat":"[", "times":100000})
    for what, b in [("invalid UTF-8 in subject", b'{"mode":"Resumes","subject":"\xff\xfe","body":"b"}'),
                    ("overlong UTF-8 slash", b'{"mode":"Resumes","subject":"\xc0\xaf","body":"b"}'),
                    ("UTF-16 body", json.dumps(V).encode("utf-16")),
                    ("truncated UTF-8 sequence", b'{"mode":"Resumes","subject":"\xe3\x81","body":"b"}'),
                    ("UTF-8 encoded surrogate", b'{"mode":"Resumes","subject":"\xed\xa0\x80","body":"b"}')]:
        add(name=f"{ep}: {what}", **{"class":"encodings"}, method="PUT" if "PUT" in ep else "POST", path=path, bodyBase64=base64.b64encode(b).decode())

# 3. content types
cts = [("no content type", None),("text/plain","text/plain"),("application/xml","application/xml"),("form urlencoded","application/x-www-form-urlencoded"),
       ("multipart for JSON","multipart/form-data; boundary=x"),("garbage content type","garbage/;;;"),("json utf-16 charset","application/json; charset=utf-16"),
       ("unknown charset","application/json; charset=klingon"),("two types","application/json, text/plain")]
for ep, path in [("submit","/api/mailings"),("preview","/api/mailings/preview"),("templates POST","/api/templates")]:
    for what, ct in cts:
        add(name=f"{ep}: {what}", **{"class":"content-type"}, method="POST", path=path, body=json.dumps({**V, "name":"n"}) if ct != "json utf-16 charset" else json.dumps(V), contentType=ct)

# 4. sizes just under and over the limits (under: preview only, it stores nothing)
PV = "/api/mailings/preview"
add(name="preview: subject of 255 characters (at the limit)", **{"class":"sizes"}, method="POST", path=PV, json=V, gen={"subject":{"repeat":"a","times":255}}, expectStatus=[200,299])
add(name="preview: subject of 255 Japanese characters", **{"class":"sizes"}, method="POST", path=PV, json=V, gen={"subject":{"repeat":"あ","times":255}}, expectStatus=[200,299])
for ep, path in EP + [("templates POST","/api/templates")]:
    add(name=f"{ep}: subject of 256 characters", **{"class":"sizes"}, method="POST", path=path, json={**V,"name":"n"}, gen={"subject":{"repeat":"a","times":256}}, expectField="subject")
    add(name=f"{ep}: subject of 100,000 characters", **{"class":"sizes"}, method="POST", path=path, json={**V,"name":"n"}, gen={"subject":{"repeat":"件","times":100000}}, expectField="subject")
    add(name=f"{ep}: body of 1 MiB + 1 byte", **{"class":"sizes"}, method="POST", path=path, json={**V,"name":"n"}, gen={"body":{"repeat":"a","times":1024*1024+1}}, expectField="body")
    add(name=f"{ep}: body of 1 MiB in 3-byte characters + 1", **{"class":"sizes"}, method="POST", path=path, json={**V,"name":"n"}, gen={"body":{"repeat":"あ","times":349526}}, expectField="body")
    add(name=f"{ep}: body of 20 MB", **{"class":"sizes"}, method="POST", path=path, json={**V,"name":"n"}, gen={"body":{"repeat":"aaaaaaaaaa","times":2000000}})
add(name="preview: body of exactly 1 MiB", **{"class":"sizes"}, method="POST", path=PV, json=V, gen={"body":{"repeat":"a","times":1024*1024}}, expectStatus=[200,299])
add(name="templates POST: name of 101 characters", **{"class":"sizes"}, method="POST", path="/api/templates", json={"name":"n"*101,"subject":"s","body":"b"}, expectField="name")
add(name="templates POST: name of 100,000 characters", **{"class":"sizes"}, method="POST", path="/api/templates", json={"name":"n","subject":"s","body":"b"}, gen={"name":{"repeat":"名","times":100000}}, expectField="name")
add(name="templates POST: blank name", **{"class":"sizes"}, method="POST", path="/api/templates", json={"name":"  ","subject":"s","body":"b"}, expectField="name")
for ep, path in EP:
    add(name=f"{ep}: phase memo of 1,001 characters", **{"class":"sizes"}, method="POST", path=path, json=with_("phase", {"optionAlias":"Option.P_ProcessPhase1","memo":"m"*1001}), expectField="phase.memo")
    add(name=f"{ep}: idempotency key of 100,000 characters", **{"class":"sizes"}, method="POST", path=path, json=with_("mode","Nope"), gen={"idempotencyKey":{"repeat":"k","times":100000}}, expectField="mode")
    add(name=f"{ep}: 100,000 mail fields", **{"class":"sizes"}, method="POST", path=path, json=V, gen={"mailFields":{"item":"Resume.P_Nope","times":100000}}, expectField="mailFields")
    add(name=f"{ep}: 100,000 upload ids", **{"class":"sizes"}, method="POST", path=path, json=V, gen={"attachments.uploadIds":{"item":"nope","times":100000}}, expectField="attachments.uploadIds")
    add(name=f"{ep}: 10,000 unknown properties", **{"class":"sizes"}, method="POST", path=path, bodyGen={"prefix":'{"mode":"Nope",', "repeat":'"zz":1,', "times":10000, "suffix":'"z":1}'}, expectField="mode")

# 5. template tricks: preview, submit, test, templates POST/PUT
TEP = EP + [("templates POST","/api/templates"),("templates PUT","/api/templates/$MY_TEMPLATE")]
T = {**V, "name":"t"}
tricks = [
 ("20,000-deep #if", {"body":{"repeat":"{{#if Person.P_Name}}","times":20000}}, "body"),
 ("20,000-deep #if closed", {"body":{"repeat":"{{#if Person.P_Name}}","times":20000,"suffixRepeat":"{{/if}}","suffixTimes":20000}}, "body"),
 ("20,000-deep #if in the subject", {"subject":{"repeat":"{{#if Person.P_Name}}","times":20000}}, "subject"),
 ("55,000 tags", {"body":{"repeat":"{{Person.P_Name}}","times":55000}}, "body"),
 ("2,001 tags (one over)", {"body":{"repeat":"{{Person.P_Name}}","times":2001}}, "body"),
 ("21-deep #if (one over)", {"body":{"repeat":"{{#if Person.P_Name}}","times":21,"suffix":"x"+"{{/if}}"*21}}, "body"),
 ("20,000 #unless deep", {"body":{"repeat":"{{#unless Person.P_Name}}","times":20000}}, "body"),
 ("55,000 unclosed openers", {"body":{"repeat":"{{","times":55000}}, "body"),
 ("55,000 stray closers", {"body":{"repeat":"}}","times":55000}}, "body"),
 ("55,000 empty tags", {"body":{"repeat":"{{}}","times":55000}}, "body"),
 ("55,000 unknown tags", {"body":{"repeat":"{{Nope.X}}","times":55000}}, "body"),
 ("55,000 near-miss tags", {"body":{"repeat":"｛｛Person.P_Name｝｝","times":55000}}, "body"),
 ("10,000 comments", {"body":{"repeat":"{{!-- c --}}","times":10000}}, "body"),
 ("quadratic: one opener, then 500,000 braces", {"body":{"prefix":"{{","repeat":"{","times":500000}}, "body"),
 ("quadratic: 200,000 '{{#' without close", {"body":{"repeat":"{{#","times":200000}}, "body"),
 ("quadratic: 100,000 near-miss starts", {"body":{"repeat":"｛{Person.P_","times":100000}}, "body"),
]
for ep, path in TEP:
    for what, gen, field in tricks:
        add(name=f"{ep}: {what}", **{"class":"templates"}, method="PUT" if "PUT" in ep else "POST", path=path, json=T, gen=gen, expectField=field)
simple = [
 ("unknown tag", "{{Person.P_Nope}}", "body"),("unknown root", "{{Nope}}", "body"),("partial", "{{> evil}}", "body"),
 ("lookup helper", "{{lookup Person 'P_Name'}}", "body"),("each", "{{#each Person}}x{{/each}}", "body"),("with", "{{#with Person}}{{P_Name}}{{/with}}", "body"),
 ("parent path", "{{../Person.P_Name}}", "body"),("root data", "{{@root.Person}}", "body"),("this", "{{this}}", "body"),
 ("constructor", "{{Person.P_Name.constructor}}", "body"),("proto", "{{__proto__}}", "body"),("segment literal", "{{Person.[P_Name]}}", "body"),
 ("empty tag", "{{}}", "body"),("unclosed tag", "{{Person.P_Name", "body"),("stray close", "a }} b {{/if}}", "body"),
 ("if without argument", "{{#if}}x{{/if}}", "body"),("unclosed if", "{{#if Person.P_Name}}x", "body"),("else outside", "{{else}}", "body"),
 ("mismatched close", "{{#if Person.P_Name}}x{{/unless}}", "body"),("helper with hash", "{{Person.P_Name foo=bar}}", "body"),
 ("raw block", "{{{{raw}}}}{{Person.P_Name}}{{{{/raw}}}}", "body"),("inline partial", "{{#*inline \"x\"}}y{{/inline}}", "body"),
 ("decorator", "{{* deco}}", "body"),("log helper", "{{log Person.P_Name}}", "body"),("subexpression", "{{#if (lookup Person 'P_Name')}}x{{/if}}", "body"),
 ("unicode tag name", "{{Person.P_名前}}", "body"),("zero-width in tag", "{{Person.P_\u200bName}}", "body"),("RTL override in tag", "{{Person.\u202eP_Name}}", "body"),
]
for ep, path in TEP:
    for what, body, field in simple:
        add(name=f"{ep}: {what}", **{"class":"templates"}, method="PUT" if "PUT" in ep else "POST", path=path, json={**T, "body":body}, expectField=field)
# full-width braces: preview warns (200), submit/test refuse near misses
for what, body in [("full-width braces", "｛｛Person.P_Name｝｝様"), ("mixed braces", "{｛Person.P_Name｝}様"), ("full-width closing", "{{Person.P_Name｝｝")]:
    add(name=f"preview: {what}", **{"class":"templates"}, method="POST", path=PV, json={**V, "body":body}, expectStatus=[200,499])
    add(name=f"submit: {what}", **{"class":"templates"}, method="POST", path="/api/mailings", json={**V, "body":body}, expectField="body")
    # a test goes to the sender only and shows the text as typed: sending it is the point
    add(name=f"test: {what}", **{"class":"templates"}, method="POST", path="/api/mailings/test", json={**V, "body":body}, expectStatus=[200,499], mayStore=True)
add(name="preview: 2,000 tags (at the limit)", **{"class":"templates"}, method="POST", path=PV, json=V, gen={"body":{"repeat":"{{Person.P_Name}}","times":1999}}, expectStatus=[200,299])
add(name="preview: 20-deep #if (at the limit)", **{"class":"templates"}, method="POST", path=PV, json=V, gen={"body":{"repeat":"{{#if Person.P_Name}}","times":20,"suffix":"x"+"{{/if}}"*20}}, expectStatus=[200,299])
# amplification: a 1 MB body with the most tags allowed, over 1,000 records × 2 mail fields
pad = "<p>" + "あ"*80 + "</p>"
add(name="preview: amplification 1 MB body × 1,000 records × 2 fields", **{"class":"amplification"}, method="POST", path=PV,
    json={**V, "mailFields":["Resume.P_Mail","Resume.P_MobileMail"]},
    gen={"scope.ids":{"numbers":{"from":10001,"count":1000}}, "body":{"repeat":"{{Person.P_Name}}"+pad,"times":1300,"prefix":"","suffixRepeat":"a","suffixTimes":(1024*1024-1300*len(("{{Person.P_Name}}"+pad).encode())-2000)}}, expectStatus=[200,299])
add(name="preview: amplification 1,000 records × 2 fields, 998 tags in subject and body", **{"class":"amplification"}, method="POST", path=PV,
    json={**V, "mailFields":["Resume.P_Mail","Resume.P_MobileMail"]},
    gen={"scope.ids":{"numbers":{"from":10001,"count":1000}}, "subject":{"repeat":"{{Person.P_Name}}","times":10}, "body":{"repeat":"{{#if Person.P_Name}}{{Person.P_Name}}{{/if}}","times":660}}, expectStatus=[200,299])
add(name="preview: amplification one record previewed out of 1,000", **{"class":"amplification"}, method="POST", path=PV,
    json={**V, "previewRecordId":10500, "mailFields":["Resume.P_Mail","Resume.P_MobileMail"]},
    gen={"scope.ids":{"numbers":{"from":10001,"count":1000}}, "body":{"repeat":"{{Person.P_Name}}"+pad,"times":1900}}, expectStatus=[200,299])
add(name="submit: amplification over the tag limit is refused before expansion", **{"class":"amplification"}, method="POST", path="/api/mailings",
    json={**V, "mailFields":["Resume.P_Mail","Resume.P_MobileMail"]},
    gen={"scope.ids":{"numbers":{"from":10001,"count":1000}}, "body":{"repeat":"{{Person.P_Name}}"+pad,"times":2500}}, expectField="body")

# 6. conditions
C = {**V, "scope":{"kind":"All","query":{"condition":"Resume.P_Id:eq=10001"}}}
conds = [("another resource's alias","Job.P_Id:eq=1"),("unknown field","Resume.P_Nope:eq=1"),("unknown operator","Resume.P_Id:zz=1"),
         ("empty value","Resume.P_Id:ge="),("no operator","Resume.P_Id"),("query injection","Resume.P_Id:eq=1&count=200&field=Resume.P_Secret"),
         ("CR/LF","Resume.P_Id:eq=1\r\nX: y"),("percent-encoded","Resume.P_Id%3Aeq%3D1"),("unicode alias","Resume.P_名前:eq=1"),
         ("100,000-character condition", None),("5,000 values", None),("2,000 conditions", None),("another resource's alias in a list","Resume.P_Id:eq=1,Client.P_Id:eq=1")]
for ep, path in [("submit","/api/mailings"),("preview",PV)]:
    for what, cond in conds:
        gen = None
        if what.startswith("100,000"): gen = {"scope.query.condition":{"prefix":"Resume.P_Name:part=","repeat":"x","times":100000}}
        if what == "5,000 values": gen = {"scope.query.condition":{"prefix":"Resume.P_Id:or=1","repeat":":10001","times":5000}}
        if what == "2,000 conditions": gen = {"scope.query.condition":{"prefix":"Resume.P_Id:ge=1","repeat":",Resume.P_Id:ge=1","times":2000}}
        body = copy.deepcopy(C)
        if cond is not None: body["scope"]["query"]["condition"] = cond
        add(name=f"{ep}: condition {what}", **{"class":"conditions"}, method="POST", path=path, json=body, **({"gen":gen} if gen else {}), expectField="scope.query.condition")
    add(name=f"{ep}: keywords of 100,000 characters", **{"class":"conditions"}, method="POST", path=path, json={**V, "scope":{"kind":"All","query":{}}}, gen={"scope.query.keywords":{"repeat":"検索","times":50000}}, expectField="scope.query")

# 7. uploads
UP = "/api/uploads"
names = ["invoice.exe.", "invoice.exe ", "invoice.exe", "cv\u202efdp.html", "CON", "AUX.pdf", "COM1.docx", "LPT1.txt", "nul", "con.tar.gz",
         "a.pdf.exe", "a.PDF.EXE", "script.js", "page.html", "page.htm", "run.bat", "run.cmd", "run.ps1", "x.scr", "x.vbs", "x.msi", "x.lnk", "x.jar",
         "", " ", ".", "..", "...", "invoice.exe::$DATA", "invoice.exe\u200b", "invoice.e\u200bxe", "x" * 300 + ".pdf", "\u0000.pdf"]
for n in names:
    # HTML is an allowed attachment type: these may be stored, but never a 5xx
    extra = {"expectStatus":[200,499], "mayStore":True} if n.endswith((".html", ".htm")) else {}
    add(name=f"upload: name {json.dumps(n)[:60]}", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":n, "partContentType":"application/pdf"}, **extra)
add(name="upload: path traversal name", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":"../../../etc/passwd.exe","partContentType":"application/pdf"})
add(name="upload: windows traversal name", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":"..\\..\\evil.exe","partContentType":"application/pdf"})
add(name="upload: program bytes named pdf", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":"cv.pdf","partContentType":"application/pdf","contentBase64":base64.b64encode(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00"*64 + b"PE\x00\x00").decode()})
add(name="upload: ELF bytes named docx", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":"cv.docx","partContentType":"application/pdf","contentBase64":base64.b64encode(b"\x7fELF\x02\x01\x01" + b"\x00"*64).decode()})
add(name="upload: empty file", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":"empty.pdf","partContentType":"application/pdf","content":""})
add(name="upload: CR/LF in the part content type", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":"cv.exe","partContentType":"application/pdf\r\nContent-Type: text/html"})
add(name="upload: CR/LF in the file name", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":"cv.pdf\r\nContent-Type: text/html\r\n\r\nx.exe","partContentType":"application/pdf"})
add(name="upload: boundary mismatch", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":"cv.pdf","partContentType":"application/pdf","boundary":"other-boundary"})
add(name="upload: no closing boundary", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":"cv.pdf","partContentType":"application/pdf","noClose":True})
add(name="upload: multipart without boundary parameter", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":"cv.pdf"}, contentType="multipart/form-data")
add(name="upload: empty boundary parameter", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":"cv.pdf"}, contentType="multipart/form-data; boundary=")
add(name="upload: 100-character boundary over the limit", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":"cv.pdf"}, contentType="multipart/form-data; boundary=" + "b"*100)
add(name="upload: empty multipart body", **{"class":"uploads"}, method="POST", path=UP, body="", contentType="multipart/form-data; boundary=hostile-corpus-boundary")
add(name="upload: garbage multipart body", **{"class":"uploads"}, method="POST", path=UP, body="garbage\r\n\r\n", contentType="multipart/form-data; boundary=hostile-corpus-boundary")
add(name="upload: JSON instead of multipart", **{"class":"uploads"}, method="POST", path=UP, body='{"file":"x"}', contentType="application/json")
add(name="upload: no content type", **{"class":"uploads"}, method="POST", path=UP, body="x", contentType=None)
add(name="upload: form field not a file", **{"class":"uploads"}, method="POST", path=UP, multipart={"field":"file"})
add(name="upload: file in another field name, name refused", **{"class":"uploads"}, method="POST", path=UP, multipart={"field":"other","fileName":"x.exe","partContentType":"application/pdf"})
add(name="upload: 25 MiB + 64 KiB, just over the file limit", **{"class":"uploads"}, method="POST", path=UP, multipart={"fileName":"big.pdf","partContentType":"application/pdf","contentGen":{"prefix":"%PDF-1.4\n","repeat":"0123456789abcdef","times":25*65536+4096}})
add(name="upload: url-encoded form", **{"class":"uploads"}, method="POST", path=UP, body="file=x.exe", contentType="application/x-www-form-urlencoded")
add(name="upload: GET", **{"class":"uploads"}, method="GET", path=UP+"/$OTHER_UPLOAD", expectStatus=[400,499])

# 8. ids of another user (and unknown ids)
OTHERS = [
 ("GET", "/api/mailings/$OTHER_MAILING"),("GET", "/api/mailings/$OTHER_MAILING/events"),("GET", "/api/mailings/$OTHER_MAILING/preview?seq=1"),
 ("GET", "/api/mailings/$OTHER_MAILING/results.csv"),("POST", "/api/mailings/$OTHER_MAILING/pause"),("POST", "/api/mailings/$OTHER_MAILING/resume"),
 ("POST", "/api/mailings/$OTHER_MAILING/cancel"),("POST", "/api/mailings/$OTHER_MAILING/retry-failed"),("POST", "/api/mailings/$OTHER_MAILING/start"),
 ("GET", "/api/templates/$OTHER_TEMPLATE"),("DELETE", "/api/templates/$OTHER_TEMPLATE"),
]
for m, p in OTHERS:
    add(name=f"another user's: {m} {p}", **{"class":"other-user"}, method=m, path=p, expectStatus=[404,404], **({"body":"{}"} if m == "POST" else {}))
add(name="another user's: PUT template", **{"class":"other-user"}, method="PUT", path="/api/templates/$OTHER_TEMPLATE", json={"name":"taken","subject":"s","body":"b"}, expectStatus=[404,404])
add(name="another user's: preview by recordId", **{"class":"other-user"}, method="GET", path="/api/mailings/$OTHER_MAILING/preview?recordId=10001", expectStatus=[404,404])
for ep, path in EP:
    add(name=f"{ep}: another user's template", **{"class":"other-user"}, method="POST", path=path, json={**V, "templateId":"$OTHER_TEMPLATE"}, expectField="templateId")
    add(name=f"{ep}: another user's upload", **{"class":"other-user"}, method="POST", path=path, json={**V, "attachments":{"uploadIds":["$OTHER_UPLOAD"]}}, expectField="attachments.uploadIds")
    add(name=f"{ep}: own and another user's upload", **{"class":"other-user"}, method="POST", path=path, json={**V, "attachments":{"uploadIds":["$MY_UPLOAD","$OTHER_UPLOAD"]}}, expectField="attachments.uploadIds")
add(name="submit: another user's idempotency key does not return their mailing", **{"class":"other-user"}, method="POST", path="/api/mailings", json={**V, "mode":"Nope", "idempotencyKey":"$OTHER_MAILING"}, expectField="mode")
ids = ["nope", "*", "%2A", "..%2F..%2Fx", "0"*5000, "%00", "%E2%80%AE", "a%0D%0Ab", "$MY_MAILING%2A", "[", "\\"]
for action in ["pause","resume","cancel","retry-failed","start"]:
    for i in ids:
        add(name=f"control {action} on unknown id {i[:20]}{'…' if len(i)>20 else ''}", **{"class":"unknown-ids"}, method="POST", path=f"/api/mailings/{i}/{action}", body="{}", expectStatus=[400,404], **({"bareRejection":True} if i == "%00" else {}))
for i in ids[:6]:
    bare = {"bareRejection":True} if i == "%00" else {}
    add(name=f"events of unknown id {i[:20]}", **{"class":"unknown-ids"}, method="GET", path=f"/api/mailings/{i}/events", expectStatus=[400,404], **bare)
    add(name=f"template GET unknown id {i[:20]}", **{"class":"unknown-ids"}, method="GET", path=f"/api/templates/{i}", expectStatus=[400,404], **bare)
# own mailing in the wrong state: refused, unchanged
for action in ["start","resume","retry-failed"]:
    add(name=f"own queued mailing: {action}", **{"class":"state"}, method="POST", path=f"/api/mailings/$MY_MAILING/{action}", body="{}", expectStatus=[409,409])
for q in ["seq=0","seq=-1","seq=abc","seq=99999999999999999999","recordId=abc","", "seq=1&recordId=2"]:
    add(name=f"own mailing preview ?{q}", **{"class":"state"}, method="GET", path=f"/api/mailings/$MY_MAILING/preview?{q}", expectStatus=[200,499])
add(name="own mailing control with a body that is not JSON", **{"class":"state"}, method="POST", path="/api/mailings/$MY_MAILING/start", body="{{{", expectStatus=[400,409])
add(name="results.csv lang injection", **{"class":"state"}, method="GET", path="/api/mailings/$MY_MAILING/results.csv?lang=%0D%0Aja", expectStatus=[200,499])

# 9. Host and headers
MAN = "/addin/manifest.xml"
for what, host in [("port out of range","a:99999"),("empty",""),("space","a b"),("unclosed IPv6","[::1"),("long","h"*5000),("userinfo","user@evil.example"),("port zero","a:0"),("non-ASCII","例え.jp"),("path","a/b")]:
    add(name=f"manifest: Host {what}", **{"class":"host"}, method="GET", path=MAN, raw=True, headers={"Host":host}, expectStatus=[200,499], bareRejection=True)
for what, user in [("CR/LF","a@b.example\r\nBcc: x@y.example"),("unicode","ユーザー@例え.jp"),("overlong","u"*5000+"@b.example"),("list","a@b.example, c@d.example"),
                   ("no at sign","nobody"),("empty",""),("angle brackets","<script>@b.example"),("quoted local","\"a b\"@b.example"),("NUL escape","a\\u0000@b.example"),("bidi","a\u202e@b.example")]:
    add(name=f"user header {what}: preview invalid", **{"class":"addresses"}, method="POST", path=PV, raw=True, headers={"X-BulkMail-User":user}, body=json.dumps(with_("mode","Nope")), contentType="application/json", expectStatus=[400,499], bareRejection=True)
    add(name=f"user header {what}: test invalid", **{"class":"addresses"}, method="POST", path="/api/mailings/test", raw=True, headers={"X-BulkMail-User":user}, body=json.dumps(with_("mailFields",[])), contentType="application/json", expectStatus=[400,499], bareRejection=True)
    add(name=f"user name header {what}", **{"class":"addresses"}, method="POST", path=PV, raw=True, headers={"X-BulkMail-User-Name":user}, body=json.dumps(with_("scope.kind","Nope")), contentType="application/json", expectStatus=[400,499], bareRejection=True)
for what, h in [("huge Accept-Language", {"Accept-Language":{"repeat":"ja;q=0.9,","times":2000}}),("bad q", {"Accept-Language":"ja;q=abc"}),("ja", {"Accept-Language":"ja"}),
                ("Content-Language garbage", {"Content-Language":"\u0001"}),("X-Forwarded-Host", {"X-Forwarded-Host":"evil.example"}),("Idempotency-Key huge", {"Idempotency-Key":{"repeat":"k","times":8000}})]:
    add(name=f"header {what}: invalid submit", **{"class":"headers"}, method="POST", path="/api/mailings", raw=True, headers=h, body=json.dumps(with_("mode","Nope")), contentType="application/json", expectField="mode", bareRejection=True)
add(name="header: 100 KB header", **{"class":"headers"}, method="POST", path="/api/mailings", raw=True, headers={"X-Junk":{"repeat":"j","times":100000}}, body=json.dumps(with_("mode","Nope")), contentType="application/json", bareRejection=True)
add(name="header: Content-Length says more than sent", **{"class":"headers"}, method="GET", path="/api/hrbc/Nope", raw=True, expectStatus=[400,404], bareRejection=True)

# 10. HRBC pass-through endpoints
for q in ["/api/hrbc/Nope", "/api/hrbc/Resume?count=-1", "/api/hrbc/Resume?count=999999", "/api/hrbc/Resume?start=-5", "/api/hrbc/Resume?start=abc",
          "/api/hrbc/Resume/99999999999999999999", "/api/hrbc/Resume/-1", "/api/hrbc/Resume?condition=Job.P_Id:eq=1", "/api/hrbc/Resume?condition=" + "x"*10000,
          "/api/hrbc/Resume?keywords=" + "%E6%A4%9C"*3000, "/api/hrbc/phases?resource=Nope", "/api/hrbc/Nope/fields", "/api/hrbc/Resume?field=Resume.P_Nope",
          "/api/hrbc/Resume?order=Resume.P_Nope:asc", "/api/hrbc/Resume?condition=Resume.P_Id:or=1" + ":2"*5000]:
    add(name=f"hrbc: GET {q[:70]}", **{"class":"hrbc"}, method="GET", path=q, expectStatus=[200,499], bareRejection=True)

print(len(out))
names = [c["name"] for c in out]
import collections
d = [n for n, k in collections.Counter(names).items() if k > 1]
assert not d, d
with open("/work/wt-h4/tests/BulkMail.Tests/Hostile/corpus.jsonl", "w") as f:
    f.write("// The hostile corpus: one case a line (see HostileCorpusTests). Fields: name, class, method, path, headers, raw (sent byte by byte),\n")
    f.write("// json + gen (generated values at dotted paths) | body | bodyGen | bodyBase64 | multipart; contentType; expectStatus [min,max] (default 400–499);\n")
    f.write("// expectField (the problem must name it); mayStore; bareRejection (Kestrel may refuse it before the app, with an empty 400).\n")
    for c in out:
        f.write(json.dumps(c, ensure_ascii=False) + "\n")
