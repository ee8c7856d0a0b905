"""The configuration audit trail in a real browser, on the seeded demo: the administrator changes a
dispatch rule's department and handling deadline on its edit page, then opens 变更记录 from the
edit page's history link (the log opens filtered to that rule) and the whole log. Screenshots go to docs/screenshots/audit-*.png.
Run from docs/: python audit_screenshots.py (needs chromium + chromium-driver).
"""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from take_screenshots import BASE, chromium, demo_server, log_in, save_page

PICK_OTHER_DEPARTMENT = """
const select = document.getElementById('department');
const current = select.value;
const other = [...select.options].find(o => o.value && o.value !== '__None' && o.value !== current
                                          && o.text.includes('局'));
select.value = other.value;
if (window.jQuery) { jQuery(select).trigger('change'); }
return other.text;
"""


def main() -> None:
    with demo_server("griddesk-audit-"), chromium() as driver:
        log_in(driver, "admin")
        driver.get(f"{BASE}/admin/dispatchrule/?flt0_1=department")
        edit = driver.find_element(By.CSS_SELECTOR, "a[href*='/admin/dispatchrule/edit/']")
        driver.get(edit.get_attribute("href"))
        department = driver.execute_script(PICK_OTHER_DEPARTMENT)
        deadline = driver.find_element(By.ID, "handle_deadline")
        deadline.clear()
        deadline.send_keys("2")
        driver.execute_script("document.getElementById('handle_deadline_unit').value = "
                              "'working_days';")
        driver.find_element(By.CSS_SELECTOR, "input[name='_continue_editing']").click()
        WebDriverWait(driver, 20).until(
            lambda d: d.find_elements(By.ID, "gd-config-history"))
        print("department now", department)
        save_page(driver, "audit-edit-history-link", max_height=1200)
        driver.find_element(By.ID, "gd-config-history").click()
        WebDriverWait(driver, 20).until(lambda d: "/admin/configchange/" in d.current_url)
        driver.get(f"{BASE}/admin/configchange/")
        save_page(driver, "audit-config-changes", max_height=1600)


if __name__ == "__main__":
    main()
