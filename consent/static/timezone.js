// The browser's time zone, sent with every form the person posts anyway (the hidden field
// "browser_time_zone"), so that times show in their zone without asking (consent/web/times.py).
// GET forms are left alone: a zone has no place in a URL. Without this script the pages
// work the same, in the zone chosen in Settings, else the instance's default, named.
(function () {
  "use strict";
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (typeof zone !== "string" || !/^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) { return; }

  // Capture phase: the field is in place before the form's data is gathered.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method !== "post") { return; }
    var field = form.querySelector("input[name=browser_time_zone]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "browser_time_zone";
      form.append(field);
    }
    field.value = zone;
  }, true);
})();
