package io.salsa.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
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
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The rater page in a real browser (Debian's headless Chromium driven by Selenium): sign in, answer tasks with
 * the keyboard, undo and skip, live through a restart of the service, and find exactly the answers the rater
 * left on the feedback topic.
 */
@ExtendWith(KafkaExtension.class)
class RaterPageBrowserTest {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    @Test
    void shouldRecordThreeKeyboardAnswersAsThreeEvents(TestKafka kafka, @TempDir Path profile) throws Exception {
        withSignedInPage(kafka, profile, Duration.ofSeconds(30), (f, driver, wait) -> {
            List<String> taskIds = new ArrayList<>();
            String[] keys = {"1", "2", "0"};
            for (int i = 0; i < keys.length; i++) {
                taskIds.add(awaitNewTask(driver, wait, taskIds, i));
                new Actions(driver).sendKeys(keys[i]).perform();
            }
            wait.until(d -> d.findElement(By.id("answered")).getText().equals("3"));

            List<Preference> events = eventsInOrder(f);
            assertEquals(3, events.size());
            assertEquals(List.of(Choice.A, Choice.B, Choice.TIE),
                    events.stream().map(Preference::getChoice).toList());
            assertEquals(taskIds, events.stream().map(Preference::getTaskId).toList());
            events.forEach(e -> assertEquals("carol", e.getRaterId()));
            events.forEach(e -> assertEquals("page:" + e.getTaskId(), e.getIdempotencyKey()));
        });
    }

    @Test
    void shouldSendOnlyTheAnswerLeftAfterUndoAndNothingForASkip(TestKafka kafka, @TempDir Path profile)
            throws Exception {
        withSignedInPage(kafka, profile, Duration.ofSeconds(30), (f, driver, wait) -> {
            List<String> taskIds = new ArrayList<>();

            // undo inside the window: the first choice is never sent, the second one is
            String first = awaitNewTask(driver, wait, taskIds, 0);
            taskIds.add(first);
            new Actions(driver).sendKeys("1").perform();
            wait.until(d -> d.findElement(By.id("undo")).isDisplayed());
            assertTrue(driver.findElement(By.id("undo-text")).getText().contains("A is better"));
            driver.findElement(By.id("undo-button")).click();
            wait.until(d -> !d.findElement(By.id("undo")).isDisplayed()
                    && d.findElement(By.cssSelector("button[data-choice=B]")).isEnabled());
            assertEquals(first, driver.findElement(By.id("task")).getAttribute("data-task-id"));
            assertEquals("task-heading", driver.switchTo().activeElement().getAttribute("id"));
            new Actions(driver).sendKeys("2").perform();

            // skip: the task goes away without an event, the next one is announced and focused
            String skipped = awaitNewTask(driver, wait, taskIds, 1);
            taskIds.add(skipped);
            driver.findElement(By.id("skip")).click();
            String last = awaitNewTask(driver, wait, taskIds, 1);
            new Actions(driver).sendKeys("0").perform();
            wait.until(d -> d.findElement(By.id("answered")).getText().equals("2"));

            List<Preference> events = eventsInOrder(f);
            assertEquals(List.of(first, last), events.stream().map(Preference::getTaskId).toList(),
                    "no event for the skipped task " + skipped);
            assertEquals(List.of(Choice.B, Choice.TIE), events.stream().map(Preference::getChoice).toList(),
                    "the undone choice A was never sent");
        });
    }

    @Test
    void shouldSayTheConnectionIsLostAndRecoverWhenTheServiceComesBack(TestKafka kafka, @TempDir Path profile)
            throws Exception {
        withSignedInPage(kafka, profile, Duration.ofSeconds(60), (f, driver, wait) -> {
            String before = awaitNewTask(driver, wait, List.of(), 0);

            int port = f.app.port();
            f.stopApp();
            new Actions(driver).sendKeys("1").perform();
            WebElement alert = driver.findElement(By.id("alert"));
            wait.until(d -> alert.getText().contains("Connection lost"));
            assertEquals("alert", alert.getAttribute("role"));

            // the same port, as a restarted deployment: the page's retry reaches the new instance, whose
            // tasks are new (the old one is gone with the restart), and takes the next task by itself
            f.startOn(port);
            String after = awaitNewTask(driver, wait, List.of(before), 0);
            wait.until(d -> alert.getText().isEmpty());
            new Actions(driver).sendKeys("2").perform();
            wait.until(d -> d.findElement(By.id("answered")).getText().equals("1"));

            List<Preference> events = eventsInOrder(f);
            assertEquals(1, events.size());
            assertEquals(after, events.get(0).getTaskId());
            assertEquals(Choice.B, events.get(0).getChoice());
        });
    }

    @Test
    void shouldShowAConversationTurnByTurnAsTextAndAPlainPromptAsBefore(TestKafka kafka, @TempDir Path profile)
            throws Exception {
        withSignedInPage(kafka, profile, Duration.ofSeconds(30), f -> f.conversation("seed", 0, "system",
                "Be brief.", "user", "Is <b>this</b> bold? <script>window.injected = 1</script>", "assistant",
                "No.", "user", "And now?"), (f, driver, wait) -> {
            List<String> seen = new ArrayList<>();
            boolean sawConversation = false;
            boolean sawPlain = false;
            // carol skips through the tasks (a skipped pair is not offered to her again) until she has seen both kinds
            while (!(sawConversation && sawPlain) && seen.size() < 9) {
                seen.add(awaitNewTask(driver, wait, seen, 0));
                WebElement list = driver.findElement(By.id("conversation"));
                if (list.isDisplayed()) {
                    sawConversation = true;
                    assertFalse(driver.findElement(By.id("prompt")).isDisplayed());
                    List<WebElement> turns = list.findElements(By.tagName("li"));
                    assertEquals(List.of("system", "user", "assistant", "user"), turns.stream()
                            .map(t -> t.findElement(By.className("role")).getAttribute("textContent")).toList());
                    assertEquals("Is <b>this</b> bold? <script>window.injected = 1</script>",
                            turns.get(1).findElement(By.tagName("pre")).getText(), "shown as text");
                    assertTrue(list.findElements(By.tagName("b")).isEmpty(), "no markup from the prompt");
                    assertTrue(list.findElements(By.tagName("script")).isEmpty());
                    assertEquals(null, ((org.openqa.selenium.JavascriptExecutor) driver)
                            .executeScript("return window.injected === undefined ? null : window.injected;"));
                    assertTrue(driver.findElement(By.id("announcer")).getAttribute("textContent")
                            .contains("a conversation of 4 turns, ending with user: And now?"));
                } else {
                    sawPlain = true;
                    assertTrue(driver.findElement(By.id("prompt")).getText().startsWith("Synthetic prompt"));
                    assertTrue(list.findElements(By.tagName("li")).isEmpty(), "the last conversation is gone");
                }
                driver.findElement(By.id("skip")).click();
            }
            assertTrue(sawConversation && sawPlain, "both kinds of prompt among the tasks " + seen);
        });
    }

    /** What a test does on the rater page once carol is signed in. */
    @FunctionalInterface
    private interface Session {
        void run(IngestFixture f, WebDriver driver, WebDriverWait wait) throws Exception;
    }

    /**
     * Starts the service with 3 prompts of 3 responses each, signs carol in on a fresh headless browser, runs
     * {@code session} with a wait of {@code patience}, and closes browser and service.
     */
    private static void withSignedInPage(TestKafka kafka, Path profile, Duration patience, Session session)
            throws Exception {
        withSignedInPage(kafka, profile, patience, f -> f, session);
    }

    /** As above, with {@code prepare} run on the fixture before the service starts (e.g. to publish prompts). */
    private static void withSignedInPage(TestKafka kafka, Path profile, Duration patience,
            java.util.function.UnaryOperator<IngestFixture> prepare, Session session) throws Exception {
        try (IngestFixture f = prepare.apply(new IngestFixture(kafka.bootstrapServers(), Map.of())).seed(3, 3)
                .start()) {
            WebDriver driver = browser(profile);
            try {
                signIn(driver, f);
                session.run(f, driver, new WebDriverWait(driver, patience));
            } finally {
                driver.quit();
            }
        }
    }

    private static WebDriver browser(Path profile) {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "skipped: Debian's chromium and chromium-driver are not installed (apt-get install -y chromium"
                        + " chromium-driver; .ci/run installs them)");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync",
                "--disable-dev-shm-usage", "--user-data-dir=" + profile.toAbsolutePath());
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    private static void signIn(WebDriver driver, IngestFixture f) {
        driver.get(f.uri("/").toString());
        driver.findElement(By.id("token")).sendKeys("carol-token");
        driver.findElement(By.id("signin-button")).click();
    }

    /**
     * Waits until the page shows a task not in {@code earlier} with the given answer count, checks that it was
     * announced in the live region and focused, and returns its id.
     */
    private static String awaitNewTask(WebDriver driver, WebDriverWait wait, List<String> earlier, int answered) {
        wait.until(d -> !d.findElement(By.id("task")).getAttribute("data-task-id").isEmpty()
                && d.findElement(By.id("work")).isDisplayed()
                && d.findElement(By.id("answered")).getText().equals(Integer.toString(answered))
                && !earlier.contains(d.findElement(By.id("task")).getAttribute("data-task-id")));
        // a plain prompt is the #prompt text; a conversation is announced by its last turn
        List<WebElement> turns = driver.findElements(By.cssSelector("#conversation li pre"));
        String prompt = driver.findElement(By.id("conversation")).isDisplayed()
                ? turns.get(turns.size() - 1).getText() : driver.findElement(By.id("prompt")).getText();
        assertNotEquals("", prompt);
        assertNotEquals(driver.findElement(By.id("response-a")).getText(),
                driver.findElement(By.id("response-b")).getText());
        WebElement announcer = driver.findElement(By.id("announcer"));
        assertEquals("polite", announcer.getAttribute("aria-live"));
        assertTrue(announcer.getAttribute("textContent").contains(prompt), "the new task is announced");
        assertEquals("task-heading", driver.switchTo().activeElement().getAttribute("id"), "and focused");
        return driver.findElement(By.id("task")).getAttribute("data-task-id");
    }

    private static List<Preference> eventsInOrder(IngestFixture f) {
        List<Preference> events = new ArrayList<>(FeedbackAudit.readAll(f.settings));
        events.sort(Comparator.comparingLong(Preference::getSubmittedAtMs));
        return events;
    }
}
