// Peer for benchmarks/bench_evaluation.py: Weka's own Evaluation fed the same predictions.
//
// Usage: java -cp weka.jar:. WekaEvaluationBench PREDICTIONS.bin REPEATS OUT.txt
// The binary file (little-endian) holds n, k, folds (int32), then actual[n] and fold[n] (int32),
// weight[n], dist[n*k] and trainCounts[folds*k] (float64). Instances are built before the clock
// starts; each repeat times a fresh Evaluation fed every prediction (setPriors per fold, as
// crossValidateModel does) and, separately, Weka's three text blocks (which compute ROC/PRC areas),
// plus the main thread's CPU time.
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;

import weka.classifiers.evaluation.Evaluation;
import weka.core.Attribute;
import weka.core.DenseInstance;
import weka.core.Instance;
import weka.core.Instances;

public class WekaEvaluationBench {
  public static void main(String[] args) throws Exception {
    ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(Paths.get(args[0]))).order(ByteOrder.LITTLE_ENDIAN);
    int repeats = Integer.parseInt(args[1]);
    int n = in.getInt(), k = in.getInt(), folds = in.getInt();
    int[] actual = new int[n], fold = new int[n];
    double[] weight = new double[n];
    double[][] dist = new double[n][k], counts = new double[folds][k];
    for (int i = 0; i < n; i++) actual[i] = in.getInt();
    for (int i = 0; i < n; i++) fold[i] = in.getInt();
    for (int i = 0; i < n; i++) weight[i] = in.getDouble();
    for (int i = 0; i < n; i++) for (int j = 0; j < k; j++) dist[i][j] = in.getDouble();
    for (int f = 0; f < folds; f++) for (int j = 0; j < k; j++) counts[f][j] = in.getDouble();

    ArrayList<String> labels = new ArrayList<>();
    for (int j = 0; j < k; j++) labels.add("c" + j);
    ArrayList<Attribute> attributes = new ArrayList<>();
    attributes.add(new Attribute("class", labels));
    Instances header = new Instances("bench", attributes, 0);
    header.setClassIndex(0);
    Instance[] instances = new Instance[n];
    for (int i = 0; i < n; i++) {
      instances[i] = new DenseInstance(weight[i], new double[] {actual[i]});
      instances[i].setDataset(header);
    }
    Instances[] train = new Instances[folds];
    for (int f = 0; f < folds; f++) {
      train[f] = new Instances(header, k);
      for (int j = 0; j < k; j++) train[f].add(new DenseInstance(counts[f][j], new double[] {j}));
    }
    String text = "";
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    for (int r = 0; r < repeats; r++) {
      long cpuStart = threads.getCurrentThreadCpuTime();
      long start = System.nanoTime();
      Evaluation evaluation = new Evaluation(header);
      int current = -1;
      for (int i = 0; i < n; i++) {
        if (fold[i] != current) {
          current = fold[i];
          evaluation.setPriors(train[current]);
        }
        evaluation.evaluateModelOnceAndRecordPrediction(dist[i], instances[i]);
      }
      long fed = System.nanoTime();
      text = evaluation.toSummaryString("=== Summary ===\n", false) + "\n" + evaluation.toClassDetailsString()
        + "\n" + evaluation.toMatrixString();
      long done = System.nanoTime();
      long cpu = threads.getCurrentThreadCpuTime() - cpuStart;
      System.out.println("feed_s " + (fed - start) / 1e9 + " text_s " + (done - fed) / 1e9 + " cpu_s " + cpu / 1e9);
    }
    Files.write(Paths.get(args[2]), text.getBytes("UTF-8"));
  }
}
