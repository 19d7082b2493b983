// A small password-zip reader for the end-to-end check of (b): the zip a candidate receives must open with the
// password typed in the pane. Reads what SharpZipLib writes: WinZip AES (AE-1/AE-2, method 99) and traditional
// ZipCrypto, entries stored or deflated. Throws on a wrong password (AES verifier and HMAC, ZipCrypto check byte).
import { createCipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from "node:crypto";
import { inflateRawSync } from "node:zlib";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32Byte = (crc, b) => (CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8)) >>> 0;
export function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crc32Byte(c, b);
  return (c ^ 0xffffffff) >>> 0;
}

/** Entries of the central directory: name (UTF-8 when flag bit 11 is set), method, sizes, local header offset. */
function centralDirectory(zip) {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("not a zip: no end of central directory");
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const entries = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error("broken central directory");
    const flags = zip.readUInt16LE(p + 8);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const rawName = zip.subarray(p + 46, p + 46 + nameLen);
    entries.push({
      name: rawName.toString(flags & 0x800 ? "utf8" : "latin1"),
      utf8: (flags & 0x800) !== 0,
      flags,
      method: zip.readUInt16LE(p + 10),
      time: zip.readUInt16LE(p + 12),
      crc: zip.readUInt32LE(p + 16),
      compressedSize: zip.readUInt32LE(p + 20),
      size: zip.readUInt32LE(p + 24),
      extra: zip.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen),
      offset: zip.readUInt32LE(p + 42),
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function aesExtra(extra) {
  for (let p = 0; p + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(p);
    const len = extra.readUInt16LE(p + 2);
    if (id === 0x9901) return { version: extra.readUInt16LE(p + 4), strength: extra[p + 8], method: extra.readUInt16LE(p + 9) };
    p += 4 + len;
  }
  throw new Error("method 99 without the AES extra field");
}

function decryptAes(data, password, strength) {
  const keyLen = { 1: 16, 2: 24, 3: 32 }[strength];
  const saltLen = keyLen / 2;
  const salt = data.subarray(0, saltLen);
  const verifier = data.subarray(saltLen, saltLen + 2);
  const body = data.subarray(saltLen + 2, data.length - 10);
  const mac = data.subarray(data.length - 10);
  const derived = pbkdf2Sync(Buffer.from(password, "utf8"), salt, 1000, keyLen * 2 + 2, "sha1");
  if (!derived.subarray(keyLen * 2).equals(verifier)) throw new Error("wrong password (AES verifier)");
  const hmac = createHmac("sha1", derived.subarray(keyLen, keyLen * 2)).update(body).digest().subarray(0, 10);
  if (!timingSafeEqual(hmac, mac)) throw new Error("wrong password or damaged data (AES authentication code)");
  // WinZip's CTR mode counts little-endian from 1, unlike Node's aes-*-ctr: build the keystream block by block.
  const ecb = createCipheriv(`aes-${keyLen * 8}-ecb`, derived.subarray(0, keyLen), null).setAutoPadding(false);
  const counters = Buffer.alloc(Math.ceil(body.length / 16) * 16);
  for (let i = 0; i < counters.length / 16; i++) counters.writeUInt32LE(i + 1, i * 16); // < 2^32 blocks here
  const stream = ecb.update(counters);
  const out = Buffer.alloc(body.length);
  for (let i = 0; i < body.length; i++) out[i] = body[i] ^ stream[i];
  return out;
}

function decryptZipCrypto(data, password, entry) {
  let k0 = 0x12345678, k1 = 0x23456789, k2 = 0x34567890;
  const update = (b) => {
    k0 = crc32Byte(k0, b);
    k1 = (Math.imul((k1 + (k0 & 0xff)) >>> 0, 134775813) + 1) >>> 0;
    k2 = crc32Byte(k2, k1 >>> 24);
  };
  for (const b of Buffer.from(password, "utf8")) update(b);
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) {
    const t = (k2 | 2) & 0xffff;
    const c = data[i] ^ ((Math.imul(t, t ^ 1) >>> 8) & 0xff);
    update(c);
    out[i] = c;
  }
  // The 12-byte header's last byte is the CRC's high byte (or the time's, with a data descriptor).
  const check = entry.flags & 0x8 ? (entry.time >>> 8) & 0xff : entry.crc >>> 24;
  if (out[11] !== check) throw new Error("wrong password (ZipCrypto check byte)");
  return out.subarray(12);
}

/** Opens every entry with the password: returns [{ name, utf8, encryption, content }]. */
export function openZip(zip, password) {
  return centralDirectory(zip).map((e) => {
    const local = e.offset;
    if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`no local header for ${e.name}`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    let data = zip.subarray(start, start + e.compressedSize);
    let method = e.method;
    let encryption = "none";
    if (e.flags & 1) {
      if (method === 99) {
        const aes = aesExtra(e.extra);
        data = decryptAes(data, password, aes.strength);
        method = aes.method;
        encryption = `AES-${{ 1: 128, 2: 192, 3: 256 }[aes.strength]}`;
      } else {
        data = decryptZipCrypto(data, password, e);
        encryption = "ZipCrypto";
      }
    }
    const content = method === 8 ? inflateRawSync(data) : method === 0 ? Buffer.from(data) : null;
    if (!content) throw new Error(`unsupported compression method ${method} for ${e.name}`);
    if (content.length !== e.size) throw new Error(`${e.name}: ${content.length} bytes, the directory says ${e.size}`);
    // AE-2 stores no CRC (the HMAC above covers the data); everything else must match it.
    if (!(e.method === 99 && e.crc === 0) && crc32(content) !== e.crc) throw new Error(`${e.name}: CRC mismatch`);
    return { name: e.name, utf8: e.utf8, encryption, content };
  });
}
