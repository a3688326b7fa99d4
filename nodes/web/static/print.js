/* Printable documents: the "Print" button opens the browser's print dialog. Loaded from this
   file because the CSP forbids inline scripts; without it the page says to use Ctrl+P. */
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button.print-now").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
});
