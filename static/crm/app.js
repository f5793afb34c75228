/* CRM — small progressive enhancements; every page also works without this file.
   1. record picker (autocomplete) results → hidden id + visible text
   2. formset "add another" rows
   3. deal board drag and drop
   4. little helpers: confirm before submit, auto-submit selects, closing dropdowns, "either … or" groups */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function csrfToken() {
    // base.html puts the token into <body hx-headers> for htmx; reuse it here.
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
    } catch (e) { /* fall through */ }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  /* ------------------------------------------------------------ 1. record picker */

  function acParts(el) {
    var box = el.closest("[data-ac]");
    if (!box) return null;
    return {
      box: box,
      search: box.querySelector(".ac-search"),
      value: box.querySelector(".ac-value"),
      results: box.querySelector(".ac-results"),
      clear: box.querySelector("[data-ac-clear]")
    };
  }

  function acClose(parts) {
    parts.results.innerHTML = "";
    parts.search.setAttribute("aria-expanded", "false");
  }

  function acSet(parts, id, text) {
    var changed = parts.value.value !== String(id);
    parts.value.value = id;
    parts.search.value = text;
    parts.search.dataset.picked = text;
    if (parts.clear) parts.clear.hidden = !id;
    acClose(parts);
    if (changed) parts.value.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.querySelectorAll(".ac-search").forEach(function (input) {
    input.dataset.picked = input.value;
  });

  document.addEventListener("click", function (event) {
    var option = event.target.closest(".ac-option");
    if (option) {
      var parts = acParts(option);
      acSet(parts, option.dataset.id, option.dataset.text);
      parts.search.focus();
      return;
    }
    var clear = event.target.closest("[data-ac-clear]");
    if (clear) {
      var p = acParts(clear);
      acSet(p, "", "");
      p.search.focus();
      return;
    }
    // A click anywhere else closes open result lists.
    document.querySelectorAll("[data-ac]").forEach(function (box) {
      if (!box.contains(event.target)) acClose(acParts(box));
    });
  });

  document.addEventListener("input", function (event) {
    if (!event.target.classList || !event.target.classList.contains("ac-search")) return;
    var parts = acParts(event.target);
    // Typing after a pick drops the picked id: only a record chosen from the list counts.
    if (parts.value.value && parts.search.value !== parts.search.dataset.picked) {
      parts.value.value = "";
      if (parts.clear) parts.clear.hidden = true;
      parts.value.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (!el.closest || !el.closest("[data-ac]")) return;
    var parts = acParts(el);
    var options = Array.prototype.slice.call(parts.results.querySelectorAll(".ac-option"));
    var index = options.indexOf(el);
    if (event.key === "ArrowDown" && options.length) {
      event.preventDefault();
      options[Math.min(index + 1, options.length - 1)].focus();
    } else if (event.key === "ArrowUp" && index >= 0) {
      event.preventDefault();
      (index === 0 ? parts.search : options[index - 1]).focus();
    } else if (event.key === "Escape") {
      acClose(parts);
      parts.search.focus();
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.classList.contains("ac-results")) {
      var parts = acParts(target);
      parts.search.setAttribute("aria-expanded", target.querySelector(".ac-option") ? "true" : "false");
    }
  });

  /* ------------------------------------------------------------ 2. formset rows */

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-formset-add]");
    if (!button) return;
    var fieldset = button.closest("[data-formset]");
    var prefix = button.dataset.formsetAdd;
    var total = fieldset.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
    var max = fieldset.querySelector('input[name="' + prefix + '-MAX_NUM_FORMS"]');
    var template = fieldset.querySelector("template[data-formset-empty]");
    var index = parseInt(total.value, 10) || 0;
    if (max && index >= parseInt(max.value, 10)) return;
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
    var row = holder.firstElementChild;
    fieldset.querySelector("[data-formset-rows]").appendChild(row);
    total.value = index + 1;
    var input = row.querySelector("input[name$='-value']");
    if (input) input.focus();
  });

  /* ------------------------------------------------------------ 3. deal board */

  var board = document.querySelector("[data-board]");
  if (board) {
    var dragged = null;
    var lang = document.documentElement.lang || undefined;
    var money = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

    var cents = function (value) { return Math.round(parseFloat(value || "0") * 100) || 0; };

    var addToSum = function (column, currency, deltaCents) {
      if (!deltaCents) return;
      var sums = column.querySelector("[data-sums]");
      var span = null;
      sums.querySelectorAll(".sum").forEach(function (s) { if (s.dataset.currency === currency) span = s; });
      if (!span) {
        span = document.createElement("span");
        span.className = "sum";
        span.dataset.currency = currency;
        span.dataset.total = "0";
        sums.appendChild(span);
      }
      var total = cents(span.dataset.total) + deltaCents;
      span.dataset.total = (total / 100).toFixed(2);
      span.textContent = money.format(total / 100) + (currency ? " " + currency : "");
    };

    var shift = function (card, from, to) {
      // Move the card and carry its count and amount from one column to the other.
      to.querySelector("[data-drop]").prepend(card);
      [[from, -1], [to, 1]].forEach(function (pair) {
        var count = pair[0].querySelector("[data-count]");
        count.textContent = (parseInt(count.textContent, 10) || 0) + pair[1];
        if (card.dataset.amount) addToSum(pair[0], card.dataset.currency, pair[1] * cents(card.dataset.amount));
      });
      var select = card.querySelector("select[name=stage]");
      if (select) select.value = to.dataset.stageId;
    };

    board.addEventListener("dragstart", function (event) {
      var card = event.target.closest && event.target.closest(".deal-card");
      if (!card) return;
      dragged = card;
      card.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.dataset.dealId);
    });

    board.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("dragging");
      dragged = null;
      board.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
    });

    board.addEventListener("dragover", function (event) {
      var column = event.target.closest(".board-col");
      if (!column || !dragged) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      board.querySelectorAll(".drop-target").forEach(function (c) { if (c !== column) c.classList.remove("drop-target"); });
      column.classList.add("drop-target");
    });

    board.addEventListener("dragleave", function (event) {
      var column = event.target.closest(".board-col");
      if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
    });

    board.addEventListener("drop", function (event) {
      var column = event.target.closest(".board-col");
      if (!column || !dragged) return;
      event.preventDefault();
      column.classList.remove("drop-target");
      var card = dragged;
      var from = card.closest(".board-col");
      if (from === column) return;
      var next = card.nextElementSibling;
      shift(card, from, column);  // optimistic; undone when the server says no
      card.classList.add("moving");
      var body = new FormData();
      body.append("stage", column.dataset.stageId);
      fetch(card.dataset.moveUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "fetch" }
      }).then(function (response) {
        if (response.ok) return null;
        return response.text().then(function (text) { throw new Error(text || board.dataset.errorText); });
      }).catch(function (error) {
        shift(card, column, from);
        if (next && next.parentNode === from.querySelector("[data-drop]")) next.before(card);
        window.alert(error && error.message && error.message.length < 300 ? error.message : board.dataset.errorText);
      }).finally(function () {
        card.classList.remove("moving");
      });
    });
  }

  /* ------------------------------------------------------------ 4. helpers */

  // Narrow screens: the menu button folds the sidebar navigation.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    var open = toggle.closest(".sidebar").classList.toggle("nav-open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // htmx list search/filters: leave empty filters out of the request and the pushed url.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get") return;
    var params = event.detail.parameters;
    var keys = params instanceof FormData ? Array.from(new Set(params.keys())) : Object.keys(params);
    keys.forEach(function (key) {
      var values = params instanceof FormData ? params.getAll(key) : [].concat(params[key]);
      if (values.every(function (v) { return v === "" || v === "unknown"; })) {
        if (params instanceof FormData) params.delete(key); else delete params[key];
      }
    });
  });

  // <form data-confirm="Question?">: ask before submitting.
  document.addEventListener("submit", function (event) {
    var message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) { event.preventDefault(); return; }
    event.target.querySelectorAll("details.filters[open]").forEach(function (d) { d.removeAttribute("open"); });
  });

  // <form data-autosubmit>: a changed select submits the form (e.g. the language switch).
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("form[data-autosubmit]");
    if (form && event.target.tagName === "SELECT") form.requestSubmit ? form.requestSubmit() : form.submit();
  });

  // Dropdowns built on <details> (menus, the list filter panel): close on outside click and Escape,
  // and the filter panel once its form is sent.
  var OPEN_DROPDOWNS = "details.dropdown[open], details.filters[open]";
  document.addEventListener("click", function (event) {
    document.querySelectorAll(OPEN_DROPDOWNS).forEach(function (d) {
      if (!d.contains(event.target)) d.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll(OPEN_DROPDOWNS).forEach(function (d) {
      d.removeAttribute("open");
      var summary = d.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // <fieldset data-either>: "create new" checkbox or an existing record, not both.
  document.addEventListener("change", function (event) {
    var group = event.target.closest && event.target.closest("[data-either]");
    if (!group) return;
    var checkbox = group.querySelector("input[type=checkbox]");
    var picker = group.querySelector("[data-ac]");
    if (!checkbox || !picker) return;
    if (event.target === checkbox && checkbox.checked) {
      var parts = acParts(picker);
      if (parts.value.value) acSet(parts, "", "");
    } else if (event.target.classList.contains("ac-value") && event.target.value) {
      checkbox.checked = false;
    }
  });
})();

// Custom fields shown only when another field has given values (data-show-when="stage" data-show-values="3,5"):
// the field's block is hidden while the condition does not hold; the server never requires a hidden one.
(function () {
  function holds(form, input) {
    const name = input.dataset.showWhen;
    const wanted = (input.dataset.showValues || "").split(",").filter(Boolean);
    const controls = form.querySelectorAll('[name="' + name + '"]');
    if (!controls.length) return true;
    return Array.from(controls).some(function (control) {
      if ((control.type === "checkbox" || control.type === "radio") && !control.checked) return false;
      return wanted.indexOf(control.value) !== -1;
    });
  }
  function apply(form) {
    form.querySelectorAll("[data-show-when]").forEach(function (input) {
      const block = input.closest(".field") || input;
      block.hidden = !holds(form, input);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.entity-form").forEach(function (form) {
      if (!form.querySelector("[data-show-when]")) return;
      apply(form);
      form.addEventListener("change", function () { apply(form); });
    });
  });
})();

// Error pages: "Back" returns to the page the user came from (no inline script under the CSP).
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-history-back]")) {
    history.back();
  }
});
