// The schedules page: a new schedule starts in this browser's time zone.
const zone = document.getElementById("id_time_zone");
if (zone && zone.value === "UTC" && !document.querySelector("input[name=schedule]")) {
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (here) zone.value = here;
}
