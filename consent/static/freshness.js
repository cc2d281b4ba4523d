// The person's browser as a witness of their ledger. It keeps the last checkpoint it
// verified (localStorage, per ledger origin), and on each page checks the server's newest
// one against it: signed by the key pinned on first sight, and an RFC 9162 consistency
// proof from the held tree to the new one. A rollback, a fork or a changed key gets a
// banner, and the held checkpoint is kept as evidence. Every form posted carries the held
// checkpoint, so the server refuses to sign anything on top of a ledger the browser saw
// longer or different. Without this script the pages work the same, with the server's
// own checks only. Texts come from the page (translated there), set with textContent.
(function () {
  "use strict";
  var box = document.getElementById("ledger-freshness");
  if (!box || !window.fetch || !window.crypto || !window.crypto.subtle || !window.TextEncoder) { return; }
  var origin = box.dataset.origin;
  var storageKey = "consent-ledger:" + origin;
  var encoder = new TextEncoder();
  var HASH_SIZE = 32;
  var ED25519 = 0x01;
  var SIGNATURE_PREFIX = "\u2014 ";  // em dash, space (C2SP signed-note)
  var MAX_SIGNATURES = 16;

  // A check that fails says which of the warnings it calls for.
  function Problem(kind) { this.kind = kind; }

  // --- bytes and hashes ------------------------------------------------------------------

  function fromBase64(text) {
    // Strict, as Python's b64decode(validate=True): atob alone would skip whitespace.
    if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
      throw new Problem("invalid");
    }
    var raw = atob(text);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  function toBase64(bytes) {
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw);
  }

  function concat(parts) {
    var length = parts.reduce(function (n, part) { return n + part.length; }, 0);
    var out = new Uint8Array(length);
    var at = 0;
    parts.forEach(function (part) { out.set(part, at); at += part.length; });
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) { return false; }
    var diff = 0;
    for (var i = 0; i < a.length; i++) { diff |= a[i] ^ b[i]; }
    return diff === 0;
  }

  function sha256(bytes) {
    return crypto.subtle.digest("SHA-256", bytes).then(function (digest) { return new Uint8Array(digest); });
  }

  // RFC 9162 2.1.1: an inner node is SHA-256(0x01 || left || right).
  function nodeHash(left, right) {
    return sha256(concat([Uint8Array.of(1), left, right]));
  }

  // --- signed notes and checkpoints (consent/ledger/note.py, checkpoint.py) ---------------

  // A verifier key, "<name>+<8 hex key ID>+base64(0x01 || 32-byte key)", once its key ID
  // is SHA-256(name || "\n" || 0x01 || key)[:4].
  function parseKey(text) {
    if (typeof text !== "string") { return Promise.reject(new Problem("invalid")); }
    var first = text.indexOf("+");
    var second = text.indexOf("+", first + 1);
    if (first < 1 || second < 0) { return Promise.reject(new Problem("invalid")); }
    var name = text.slice(0, first);
    var hexId = text.slice(first + 1, second);
    var raw;
    try { raw = fromBase64(text.slice(second + 1)); } catch (e) { return Promise.reject(e); }
    if (/[\s+]/.test(name) || !/^[0-9a-fA-F]{8}$/.test(hexId) || raw.length !== 33 || raw[0] !== ED25519) {
      return Promise.reject(new Problem("invalid"));
    }
    var publicKey = raw.slice(1);
    return sha256(concat([encoder.encode(name + "\n"), raw])).then(function (digest) {
      var keyId = digest.slice(0, 4);
      if (!equal(keyId, hexToBytes(hexId))) { throw new Problem("invalid"); }
      return crypto.subtle.importKey("raw", publicKey, {name: "Ed25519"}, false, ["verify"]).then(function (key) {
        return {name: name, keyId: keyId, key: key};
      });
    });
  }

  function hexToBytes(hex) {
    var out = new Uint8Array(hex.length / 2);
    for (var i = 0; i < out.length; i++) { out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16); }
    return out;
  }

  // The note's text (up to and including the newline before the blank line) once a
  // signature by `verifier` verifies over it. Lines by other keys (witnesses' cosignatures)
  // are skipped; a line with this key's name and ID that fails fails the note.
  function openNote(note, verifier) {
    if (typeof note !== "string" || note.slice(-1) !== "\n" || /[\u0000-\u0009\u000b-\u001f]/.test(note)) {
      return Promise.reject(new Problem("invalid"));
    }
    var split = note.lastIndexOf("\n\n");
    if (split < 0) { return Promise.reject(new Problem("invalid")); }
    var text = note.slice(0, split + 1);
    var lines = note.slice(split + 2).split("\n").slice(0, -1);
    if (!lines.length || lines.length > MAX_SIGNATURES) { return Promise.reject(new Problem("invalid")); }
    var checks = [];
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (line.indexOf(SIGNATURE_PREFIX) !== 0) { return Promise.reject(new Problem("invalid")); }
      var rest = line.slice(SIGNATURE_PREFIX.length);
      var space = rest.indexOf(" ");
      var name = space < 0 ? rest : rest.slice(0, space);
      var raw;
      try { raw = fromBase64(space < 0 ? "" : rest.slice(space + 1)); } catch (e) { return Promise.reject(e); }
      if (raw.length < 5) { return Promise.reject(new Problem("invalid")); }
      if (name !== verifier.name || !equal(raw.slice(0, 4), verifier.keyId)) { continue; }
      checks.push(crypto.subtle.verify({name: "Ed25519"}, verifier.key, raw.slice(4), encoder.encode(text)));
    }
    if (!checks.length) { return Promise.reject(new Problem("invalid")); }
    return Promise.all(checks).then(function (results) {
      if (results.indexOf(false) >= 0) { throw new Problem("invalid"); }
      return text;
    });
  }

  // The body of a tlog checkpoint: origin, decimal size, base64 root hash, extension lines.
  function parseCheckpoint(text) {
    var lines = text.split("\n");
    if (lines.length < 4 || lines[lines.length - 1] !== "") { throw new Problem("invalid"); }
    if (!lines[0] || !/^(0|[1-9][0-9]*)$/.test(lines[1])) { throw new Problem("invalid"); }
    var size = Number(lines[1]);
    var root = fromBase64(lines[2]);
    if (!Number.isSafeInteger(size) || root.length !== HASH_SIZE) { throw new Problem("invalid"); }
    for (var i = 3; i < lines.length - 1; i++) {
      if (!lines[i]) { throw new Problem("invalid"); }
    }
    return {origin: lines[0], size: size, root: root};
  }

  // --- RFC 9162 2.1.4.2, as consent/ledger/merkle.py verify_consistency ------------------
  // Sizes go past 2^31, where JavaScript's bit operators stop: halve with arithmetic.

  function odd(n) { return n % 2 === 1; }
  function half(n) { return Math.floor(n / 2); }
  function powerOfTwo(n) {
    while (n > 1 && !odd(n)) { n = half(n); }
    return n === 1;
  }

  function verifyConsistency(size1, size2, proof, root1, root2) {
    if (root1.length !== HASH_SIZE || root2.length !== HASH_SIZE) { return Promise.reject(new Problem("forked")); }
    if (proof.some(function (h) { return h.length !== HASH_SIZE; })) { return Promise.reject(new Problem("forked")); }
    if (size1 === 0 || size1 > size2) { return Promise.reject(new Problem("forked")); }
    if (size1 === size2) {
      return proof.length === 0 && equal(root1, root2) ? Promise.resolve() : Promise.reject(new Problem("forked"));
    }
    if (!proof.length) { return Promise.reject(new Problem("forked")); }
    var path = proof.slice();
    if (powerOfTwo(size1)) { path.unshift(root1); }
    var fn = size1 - 1;
    var sn = size2 - 1;
    while (odd(fn)) { fn = half(fn); sn = half(sn); }
    var fr = path[0];
    var sr = path[0];
    var chain = Promise.resolve();
    path.slice(1).forEach(function (c) {
      chain = chain.then(function () {
        if (sn === 0) { throw new Problem("forked"); }  // proof too long
        var step;
        if (odd(fn) || fn === sn) {
          step = Promise.all([nodeHash(c, fr), nodeHash(c, sr)]).then(function (pair) {
            fr = pair[0];
            sr = pair[1];
            while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
          });
        } else {
          step = nodeHash(sr, c).then(function (h) { sr = h; });
        }
        return step.then(function () { fn = half(fn); sn = half(sn); });
      });
    });
    return chain.then(function () {
      if (sn !== 0 || !equal(fr, root1) || !equal(sr, root2)) { throw new Problem("forked"); }
    });
  }

  // --- what the browser holds ----------------------------------------------------------

  function held() {
    try {
      var value = JSON.parse(localStorage.getItem(storageKey));
      if (value && typeof value.key === "string" && Number.isSafeInteger(value.size) && value.size >= 0 &&
          typeof value.root === "string" && (typeof value.note === "string" || value.note === null)) {
        return value;
      }
    } catch (e) { /* no storage, or not ours: as on a first visit */ }
    return null;
  }

  function keep(value) {
    var current = held();
    if (current && current.key === value.key && current.size > value.size) { return; }  // another tab saw more
    try { localStorage.setItem(storageKey, JSON.stringify(value)); } catch (e) { /* storage full or off */ }
  }

  // --- the banner ----------------------------------------------------------------------

  function warn(kind, heldSize, nowSize) {
    var messages = {
      rolled_back: box.dataset.rolledBack,
      forked: box.dataset.forked,
      key: box.dataset.keyChanged,
      invalid: box.dataset.invalid
    };
    var message = document.createElement("strong");
    message.textContent = (messages[kind] || messages.invalid)
      .replace("{held}", Number.isSafeInteger(heldSize) ? String(heldSize) : "?")
      .replace("{now}", Number.isSafeInteger(nowSize) ? String(nowSize) : "?");
    var advice = document.createElement("span");
    advice.textContent = box.dataset.advice;
    box.className = box.dataset.classes;
    box.dataset.problem = kind;
    box.replaceChildren(message, " ", advice);
    // A page opened at an anchor (#new-use after a decision) starts scrolled down, past it.
    box.scrollIntoView({block: "start"});
  }

  // --- the check, on each page ---------------------------------------------------------

  // Resolves to the checkpoint to keep, or rejects with the Problem found.
  function check(before, answer) {
    if (answer.origin !== origin || typeof answer.key !== "string" || !Array.isArray(answer.proof)) {
      return Promise.reject(new Problem("invalid"));
    }
    if (before && answer.key !== before.key) { return Promise.reject(new Problem("key")); }
    return parseKey(answer.key).then(function (verifier) {
      if (verifier.name !== origin) { throw new Problem("invalid"); }
      if (answer.checkpoint === null && answer.size === 0) {
        // Nothing signed yet: pin the key now, so that the first checkpoint is checked too.
        if (before && before.size > 0) { throw new Problem("rolled_back"); }
        return {key: answer.key, size: 0, root: "", note: null};
      }
      if (typeof answer.checkpoint !== "string") { throw new Problem("invalid"); }
      return openNote(answer.checkpoint, verifier).then(function (text) {
        var now = parseCheckpoint(text);
        if (now.origin !== origin || now.size !== answer.size) { throw new Problem("invalid"); }
        var fresh = {key: answer.key, size: now.size, root: toBase64(now.root), note: answer.checkpoint};
        if (!before || before.size === 0) { return fresh; }
        if (now.size < before.size) { throw new Problem("rolled_back"); }
        var proof = answer.proof.map(fromBase64);
        return verifyConsistency(before.size, now.size, proof, fromBase64(before.root), now.root).then(function () {
          return fresh;
        });
      });
    });
  }

  function visit() {
    var before = held();
    var url = box.dataset.endpoint + "?from=" + (before ? before.size : 0);
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}}).then(function (response) {
      // Offline, logged out, or the server's own alarm: nothing the browser can judge.
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (!answer) { return; }
      return check(before, answer).then(keep, function (problem) {
        // Anything else is this browser's own limit (no Ed25519 in its Web Crypto, say):
        // it can check nothing, so it warns of nothing and keeps what it holds.
        if (!(problem instanceof Problem)) { return; }
        warn(problem.kind, before ? before.size : undefined, answer.size);
      });
    }).catch(function () { /* a network error or a page that is not JSON: no evidence of anything */ });
  }

  // Capture phase: the field is in place before the form's data is gathered.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method !== "post") { return; }
    var current = held();
    if (!current || !current.note) { return; }
    var field = form.querySelector("input[name=held_checkpoint]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "held_checkpoint";
      form.append(field);
    }
    field.value = current.note;
  }, true);

  visit();
})();
