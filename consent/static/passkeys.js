// Passkeys: the browser's WebAuthn calls for each form that carries data-passkey-options
// ("create" to add a passkey, "get" to log in with one). The options come from the server
// as JSON; the browser's answer goes back in the form's hidden field. Texts come from the
// page (translated there). Without WebAuthn in the browser, the button stays hidden and
// the page says why.
(function () {
  "use strict";
  var supported = window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON &&
    PublicKeyCredential.parseRequestOptionsFromJSON;
  document.querySelectorAll("form[data-passkey-options]").forEach(function (form) {
    var button = form.querySelector("[data-passkey-button]");
    // The form's hidden field for the answer ("passkey", or "passkey-response" with a prefix).
    var field = form.querySelector("input[name='passkey'], input[name='passkey-response']");
    var status = form.querySelector("[data-passkey-status]");
    if (!button || !field) { return; }
    if (!supported) {
      if (status) { status.textContent = form.dataset.passkeyUnsupported || ""; }
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var options = JSON.parse(form.dataset.passkeyOptions);
      var asked = form.dataset.passkeyMode === "create"
        ? navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) })
        : navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
      asked.then(function (credential) {
        field.value = JSON.stringify(credential.toJSON());
        form.submit();
      }).catch(function () {
        if (status) { status.textContent = form.dataset.passkeyFailed || ""; }
      });
    });
  });
})();
