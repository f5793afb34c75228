// "Select all" checkboxes of the recycle bin and of the lists' bulk delete (the forms work without it).
(function () {
  if (window.crmSelectAll) return;
  window.crmSelectAll = true;
  document.addEventListener("change", function (event) {
    var box = event.target.closest && event.target.closest("[data-select-all]");
    if (!box) return;
    var scope = box.closest("table") || document;
    scope.querySelectorAll('input[type="checkbox"][name="' + box.dataset.selectAll + '"]').forEach(function (item) {
      item.checked = box.checked;
    });
  });
})();
