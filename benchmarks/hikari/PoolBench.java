// HikariCP 2.7 with the PostgreSQL JDBC driver, the Java contender of
// benchmarks/pool_benchmark.cc. Not built by Bazel (Bazel 4.2.3 has no
// offline Java toolchain here): pool_benchmark compiles this file with javac
// into a temporary folder when it first needs it and runs it as a child
// process, against the same PostgreSQL server, with the same pool size and
// thread counts as the C++ contenders.
//
// Two ways to run it:
//
//   java -cp CLASSES:JARS PoolBench serve JDBC_URL USER PASSWORD POOL_SIZE
//       Reads one command a line on stdin and answers one line on stdout:
//         open                      -> "ok" once the pool holds POOL_SIZE
//                                      connections and has been warmed up
//         run WORKLOAD THREADS N    -> "ok WALL_NS CPU_NS": THREADS threads,
//                                      N operations each, started together;
//                                      WALL_NS from their start to the last
//                                      one's end, CPU_NS the whole JVM's CPU
//                                      time over the same span
//         close                     -> "ok", the pool closed
//         quit                      -> exits
//       Anything that fails answers "error <text>". WORKLOAD is
//       "AcquireRelease" (getConnection + close) or "Select1" (the same with
//       SELECT 1 read in between). pool_benchmark turns the answers into
//       Google Benchmark results (manual time), so the report shows them in
//       the same table as the C++ contenders.
//
//   java -cp CLASSES:JARS PoolBench JDBC_URL USER PASSWORD [SECONDS]
//       Runs both workloads at 1, 2, 8 and 32 threads, pool size 16, about
//       SECONDS (default 1) each, and prints Google Benchmark's console shape:
//         BM_Select1_HikariCP/manual_time/threads:8   41234 ns   <cpu> ns   <n>
//       (time per operation, all threads together: wall time / operations;
//       CPU: the JVM's CPU time / operations).
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

public final class PoolBench {
  private static final int[] THREADS = {1, 2, 8, 32};
  private static final String[] WORKLOADS = {"AcquireRelease", "Select1"};

  private final String url;
  private final String user;
  private final String password;
  private final int poolSize;
  private HikariDataSource pool;

  private PoolBench(String url, String user, String password, int poolSize) {
    this.url = url;
    this.user = user;
    this.password = password;
    this.poolSize = poolSize;
  }

  // A fixed-size pool, as HikariCP recommends (minimumIdle = maximumPoolSize),
  // its other settings left at their defaults (30 s connection timeout, the
  // 500 ms alive-bypass window, JDBC4 isValid() as the health check).
  private void open() throws Exception {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(user);
    config.setPassword(password);
    config.setMaximumPoolSize(poolSize);
    config.setMinimumIdle(poolSize);
    config.setPoolName("poolbench");
    pool = new HikariDataSource(config);
    // HikariCP fills the pool in the background: wait (at most 30 s) until it
    // is full, so that no run measures connection set-up.
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (pool.getHikariPoolMXBean().getTotalConnections() < poolSize) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("HikariCP did not fill its pool of " + poolSize
            + " within 30 s (it has " + pool.getHikariPoolMXBean().getTotalConnections() + ")");
      }
      Thread.sleep(10);
    }
    // Let the JIT compile the paths the runs take.
    for (String workload : WORKLOADS) run(workload, 2, 5000);
  }

  private void close() {
    if (pool != null) pool.close();
    pool = null;
  }

  private void once(boolean select1) throws SQLException {
    try (Connection connection = pool.getConnection()) {
      if (select1) {
        try (Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT 1")) {
          if (!rows.next() || rows.getInt(1) != 1) throw new SQLException("SELECT 1 gave no 1");
        }
      }
    }
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  // THREADS threads, N operations each: {wall ns, JVM CPU ns}.
  private long[] run(String workload, int threads, long n) throws Exception {
    if (pool == null) throw new IllegalStateException("run before open");
    final boolean select1;
    if (workload.equals("Select1")) {
      select1 = true;
    } else if (workload.equals("AcquireRelease")) {
      select1 = false;
    } else {
      throw new IllegalArgumentException("no workload " + workload);
    }
    CountDownLatch ready = new CountDownLatch(threads);
    CountDownLatch go = new CountDownLatch(1);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; ++t) {
      Thread worker = new Thread(() -> {
        ready.countDown();
        try {
          go.await();
          for (long i = 0; i < n; ++i) once(select1);
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      });
      worker.start();
      workers.add(worker);
    }
    ready.await();
    long cpu = processCpuNanos();
    long start = System.nanoTime();
    go.countDown();
    for (Thread worker : workers) worker.join();
    long wall = System.nanoTime() - start;
    cpu = processCpuNanos() - cpu;
    if (failure.get() != null) throw new Exception(workload + ": " + failure.get(), failure.get());
    return new long[] {wall, cpu};
  }

  private static String oneLine(Throwable e) {
    return String.valueOf(e).replace('\n', ' ').replace('\r', ' ');
  }

  private void serve() throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
    String line;
    while ((line = in.readLine()) != null) {
      String[] words = line.trim().split(" ");
      try {
        switch (words[0]) {
          case "open":
            if (pool == null) open();
            System.out.println("ok");
            break;
          case "close":
            close();
            System.out.println("ok");
            break;
          case "run": {
            long[] measured = run(words[1], Integer.parseInt(words[2]), Long.parseLong(words[3]));
            System.out.println("ok " + measured[0] + " " + measured[1]);
            break;
          }
          case "quit":
            close();
            System.out.println("ok");
            System.out.flush();
            return;
          default:
            System.out.println("error unknown command " + words[0]);
        }
      } catch (Throwable e) {
        System.out.println("error " + oneLine(e));
      }
      System.out.flush();
    }
    close();  // stdin closed: the benchmark program has gone
  }

  // Google Benchmark's console shape, one line per workload and thread count.
  private void standalone(double seconds) throws Exception {
    open();
    try {
      System.out.printf("%-52s %15s %15s %12s%n", "Benchmark", "Time", "CPU", "Iterations");
      for (String workload : WORKLOADS) {
        for (int threads : THREADS) {
          // Grow the count until a run lasts long enough, as Google Benchmark does.
          long n = 10;
          long[] measured;
          while (true) {
            measured = run(workload, threads, n);
            if (measured[0] >= seconds * 1e9 || n >= 1_000_000_000L) break;
            double factor = measured[0] <= 0 ? 10 : Math.min(10, 1.4 * seconds * 1e9 / measured[0]);
            n = Math.max(n + 1, (long) (n * factor));
          }
          long operations = n * threads;
          System.out.printf("%-52s %12.0f ns %12.0f ns %12d%n",
              "BM_" + workload + "_HikariCP/manual_time/threads:" + threads,
              (double) measured[0] / operations, (double) measured[1] / operations, operations);
        }
      }
    } finally {
      close();
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 5 && args[0].equals("serve")) {
      new PoolBench(args[1], args[2], args[3], Integer.parseInt(args[4])).serve();
    } else if (args.length == 3 || args.length == 4) {
      new PoolBench(args[0], args[1], args[2], 16)
          .standalone(args.length == 4 ? Double.parseDouble(args[3]) : 1.0);
    } else {
      System.err.println("usage: PoolBench serve JDBC_URL USER PASSWORD POOL_SIZE\n"
          + "       PoolBench JDBC_URL USER PASSWORD [SECONDS]");
      System.exit(2);
    }
  }
}
