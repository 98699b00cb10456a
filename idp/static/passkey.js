/* Issue 14: the passkey (biometrics) of the login pages, with no outside resource.
   - Login page (#passkey-login): "Se connecter avec la biométrie" is shown only where the
     browser has WebAuthn and a user-verifying platform authenticator; conditional mediation
     (the NIR field's autocomplete="username webauthn") offers the passkey in the field's
     suggestions. The assertion goes to the server, which answers where to go, or why not in
     French (then the password form stays).
   - Offer page (#passkey-offer): "Activer" only where a platform authenticator is, else the
     seed's alert; the attestation goes to the server, which answers where to go next.
   The server's options are WebAuthn Level 3 JSON: parse*OptionsFromJSON when the browser has
   it, else the base64url fields are converted here. */
(function () {
  "use strict";
  var PKC = window.PublicKeyCredential;

  function toBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }

  function toText(buffer) {
    if (!buffer) { return null; }
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: toBytes(d.id), transports: d.transports };
    });
  }

  function requestOptions(json) {
    if (PKC.parseRequestOptionsFromJSON) { return PKC.parseRequestOptionsFromJSON(json); }
    var o = Object.assign({}, json);
    o.challenge = toBytes(json.challenge);
    o.allowCredentials = descriptors(json.allowCredentials);
    return o;
  }

  function creationOptions(json) {
    if (PKC.parseCreationOptionsFromJSON) { return PKC.parseCreationOptionsFromJSON(json); }
    var o = Object.assign({}, json);
    o.challenge = toBytes(json.challenge);
    o.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    o.excludeCredentials = descriptors(json.excludeCredentials);
    return o;
  }

  function credentialJSON(cred) {
    if (typeof cred.toJSON === "function") {
      try { return cred.toJSON(); } catch (e) { /* converted below */ }
    }
    var r = cred.response, response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      response.userHandle = toText(r.userHandle);
    }
    return { id: cred.id, rawId: toText(cred.rawId), type: cred.type,
             authenticatorAttachment: cred.authenticatorAttachment || null,
             clientExtensionResults: cred.getClientExtensionResults(), response: response };
  }

  function post(box, url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": box.dataset.csrf },
      body: JSON.stringify(body || {})
    }).then(function (answer) {
      return answer.json().catch(function () { return {}; }).then(function (data) {
        data.status = answer.status;
        return data;
      });
    });
  }

  function say(box, data) {
    var alert = document.getElementById("passkey-error");
    // A browser's own error (a failed fingerprint: NotAllowedError) has English words: ours.
    alert.textContent = data && !(data instanceof Error) && data.message ? data.message
      : (data && data.status === 429 ? box.dataset.busy : box.dataset.failed);
    alert.hidden = false;
    alert.focus();
  }

  function platform() {
    if (!PKC || !navigator.credentials || !window.isSecureContext) { return Promise.resolve(false); }
    return PKC.isUserVerifyingPlatformAuthenticatorAvailable().catch(function () { return false; });
  }

  // -- the login page ------------------------------------------------------------------------
  function login(box) {
    var pending = null;         // the conditional request, aborted when the button is used

    function run(conditional) {
      return post(box, box.dataset.options).then(function (data) {
        if (!data.publicKey) { throw data; }
        var request = { publicKey: requestOptions(data.publicKey) };
        if (conditional) {
          pending = new AbortController();
          request.mediation = "conditional";
          request.signal = pending.signal;
        }
        return navigator.credentials.get(request);
      }).then(function (cred) {
        return post(box, box.dataset.submit, { credential: credentialJSON(cred) });
      }).then(function (data) {
        if (data.location) { window.location.assign(data.location); return; }
        throw data;
      });
    }

    document.getElementById("passkey-button").addEventListener("click", function () {
      if (pending) { pending.abort(); pending = null; }
      run(false).catch(function (failure) { say(box, failure); });
    });

    platform().then(function (available) {
      if (available) { box.hidden = false; }
    });
    if (PKC && PKC.isConditionalMediationAvailable && window.isSecureContext) {
      PKC.isConditionalMediationAvailable().then(function (ok) {
        if (!ok) { return; }
        // A cancelled or aborted suggestion says nothing; a refusal of the server does.
        run(true).catch(function (failure) {
          if (!failure || failure instanceof Error || failure.status === 409) { return; }
          say(box, failure);
        });
      }).catch(function () { /* no conditional mediation */ });
    }
  }

  // -- the activation offer --------------------------------------------------------------------
  function offer(box) {
    var button = document.getElementById("passkey-activate");
    platform().then(function (available) {
      if (available) {
        button.hidden = false;
      } else {
        document.getElementById("passkey-offer-choices").hidden = true;
        document.getElementById("passkey-unavailable").hidden = false;
      }
    });
    button.addEventListener("click", function () {
      button.disabled = true;
      post(box, box.dataset.options).then(function (data) {
        if (!data.publicKey) { throw data; }
        return navigator.credentials.create({ publicKey: creationOptions(data.publicKey) });
      }).then(function (cred) {
        return post(box, box.dataset.submit, { credential: credentialJSON(cred) });
      }).then(function (data) {
        if (data.location) { window.location.assign(data.location); return; }
        throw data;
      }).catch(function (failure) {
        button.disabled = false;
        say(box, failure);
      });
    });
  }

  // -- the code page: what this device can do, for the offer after the login ----------------
  function mobile() {
    if (navigator.userAgentData) { return !!navigator.userAgentData.mobile; }
    return /Android|iPhone|iPad|Mobile/.test(navigator.userAgent);
  }

  var field = document.getElementById("biometrics");
  if (field) {
    platform().then(function (available) {
      // A phone without an enrolled fingerprint or face gets the seed's alert; a computer
      // without a platform authenticator, nothing at all.
      field.value = available ? "platform" : (PKC && mobile() ? "none" : "");
    });
  }

  var loginBox = document.getElementById("passkey-login");
  if (loginBox) { login(loginBox); }
  var offerBox = document.getElementById("passkey-offer");
  if (offerBox) { offer(offerBox); }
})();
