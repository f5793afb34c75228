// Lists: show only the chosen bulk action's inputs; ask before a bulk delete; the date filter's inputs follow
// its preset. Everything works without it (all inputs shown, the server reads the chosen action's only).
(function () {
  if (window.crmLists) return;
  window.crmLists = true;

  function syncBulk(form) {
    var select = form.querySelector("[data-bulk-action]");
    if (!select) return;
    form.querySelectorAll("[data-bulk-for]").forEach(function (box) {
      var on = box.dataset.bulkFor === select.value;
      box.hidden = !on;
      box.querySelectorAll("[data-bulk-input]").forEach(function (input) { input.disabled = !on; });
    });
  }

  function syncDate(select) {
    var box = select.closest(".filter-multi");
    if (!box) return;
    var inputs = box.querySelectorAll("input");
    // [days, after, before]
    if (inputs.length < 3) return;
    inputs[0].hidden = select.value !== "days";
    inputs[1].hidden = inputs[2].hidden = select.value !== "range";
  }

  function init(root) {
    root.querySelectorAll("[data-bulk-form]").forEach(syncBulk);
    root.querySelectorAll("[data-date-preset]").forEach(syncDate);
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    var all = target.closest && target.closest("[data-select-all]");
    if (all && !window.crmSelectAll) {
      (all.closest("table") || document).querySelectorAll('input[type="checkbox"][name="' + all.dataset.selectAll + '"]')
        .forEach(function (item) { item.checked = all.checked; });
    }
    if (target.matches && target.matches("[data-bulk-action]")) syncBulk(target.form);
    if (target.matches && target.matches("[data-date-preset]")) syncDate(target);
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-bulk-form]")) return;
    var action = form.querySelector("[data-bulk-action]");
    var button = form.querySelector("[data-confirm-delete]");
    if (action && action.value === "delete" && button && !window.confirm(button.dataset.confirmDelete)) {
      event.preventDefault();
    }
  });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // After any swap (the list's results, the bulk form's values loaded on first use): the whole page, cheap.
  document.addEventListener("htmx:afterSwap", function () { init(document); });
})();
