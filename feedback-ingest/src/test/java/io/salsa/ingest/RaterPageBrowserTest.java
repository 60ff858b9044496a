package io.salsa.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.salsa.events.Choice;
import io.salsa.events.Preference;
import io.salsa.testkit.KafkaExtension;
import io.salsa.testkit.TestKafka;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The rater page in a real browser (Debian's headless Chromium driven by Selenium): sign in, answer three
 * tasks with the keyboard, and find exactly those three answers on the feedback topic.
 */
@ExtendWith(KafkaExtension.class)
class RaterPageBrowserTest {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    @Test
    void shouldRecordThreeKeyboardAnswersAsThreeEvents(TestKafka kafka, @TempDir Path profile) throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "skipped: Debian's chromium and chromium-driver are not installed (apt-get install -y chromium"
                        + " chromium-driver; .ci/run installs them)");
        try (IngestFixture f = new IngestFixture(kafka.bootstrapServers(), Map.of()).seed(3, 3).start()) {
            ChromeOptions options = new ChromeOptions();
            options.setBinary(CHROMIUM.toFile());
            options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
                    "--disable-dev-shm-usage", "--user-data-dir=" + profile.toAbsolutePath());
            ChromeDriverService service = new ChromeDriverService.Builder()
                    .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
            WebDriver driver = new ChromeDriver(service, options);
            try {
                WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));
                driver.get(f.uri("/").toString());
                driver.findElement(By.id("token")).sendKeys("carol-token");
                driver.findElement(By.id("signin-button")).click();

                List<String> taskIds = new ArrayList<>();
                String[] keys = {"1", "2", "0"};
                for (int i = 0; i < keys.length; i++) {
                    int answered = i;
                    wait.until(d -> !d.findElement(By.id("task")).getAttribute("data-task-id").isEmpty()
                            && d.findElement(By.id("work")).isDisplayed()
                            && d.findElement(By.id("answered")).getText().equals(Integer.toString(answered))
                            && !taskIds.contains(d.findElement(By.id("task")).getAttribute("data-task-id")));
                    assertNotEquals("", driver.findElement(By.id("prompt")).getText());
                    assertNotEquals(driver.findElement(By.id("response-a")).getText(),
                            driver.findElement(By.id("response-b")).getText());
                    taskIds.add(driver.findElement(By.id("task")).getAttribute("data-task-id"));
                    new Actions(driver).sendKeys(keys[i]).perform();
                }
                wait.until(d -> d.findElement(By.id("answered")).getText().equals("3"));

                List<Preference> events = new ArrayList<>(FeedbackAudit.readAll(f.settings));
                events.sort(Comparator.comparingLong(Preference::getSubmittedAtMs));
                assertEquals(3, events.size());
                assertEquals(List.of(Choice.A, Choice.B, Choice.TIE),
                        events.stream().map(Preference::getChoice).toList());
                assertEquals(taskIds, events.stream().map(Preference::getTaskId).toList());
                events.forEach(e -> assertEquals("carol", e.getRaterId()));
                events.forEach(e -> assertEquals("page:" + e.getTaskId(), e.getIdempotencyKey()));
            } finally {
                driver.quit();
            }
        }
    }
}
