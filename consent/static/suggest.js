// Directory suggestions as the person types. The search form works without this script;
// it only saves a round trip. Results are built with textContent, never as HTML.
(function () {
  "use strict";
  var form = document.getElementById("directory-search");
  var list = document.getElementById("directory-results");
  if (!form || !list || !window.fetch) { return; }
  var input = form.querySelector("input[name=q]");
  var token = form.querySelector("input[name=csrf_token]").value;
  var timer = null;
  var asked = "";

  function hidden(name, value) {
    var field = document.createElement("input");
    field.type = "hidden";
    field.name = name;
    field.value = value;
    return field;
  }

  function entry(match) {
    var item = document.createElement("li");
    var choose = document.createElement("form");
    choose.method = "post";
    choose.action = list.dataset.choose;
    choose.append(hidden("csrf_token", token), hidden("step", "choose"), hidden("directory", match.slug), hidden("service", match.service));
    var button = document.createElement("button");
    button.type = "submit";
    button.className = "suggestion";
    var title = document.createElement("strong");
    title.textContent = match.service || match.name;
    var detail = document.createElement("span");
    detail.textContent = (match.service ? match.name : match.address) + (match.domain ? " · " + match.domain : "");
    button.append(title, " ", detail);
    choose.append(button);
    item.append(choose);
    return item;
  }

  function suggest() {
    var query = input.value.trim();
    if (query === asked) { return; }
    asked = query;
    if (query.length < 2) { list.replaceChildren(); return; }
    fetch(form.dataset.suggest, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify({q: query})
    }).then(function (response) {
      return response.ok ? response.json() : [];
    }).then(function (matches) {
      if (query !== input.value.trim()) { return; }  // the person typed on meanwhile
      if (!matches.length) {
        var none = document.createElement("li");
        none.className = "hint";
        none.textContent = list.dataset.none;
        list.replaceChildren(none);
        return;
      }
      list.replaceChildren.apply(list, matches.map(entry));
    }).catch(function () { /* the Search button still works */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(suggest, 150);
  });
})();
