#include <iostream>
#include <vector>

// A small dense matrix of doubles stored row by row.
class Matrix {
public:
    Matrix(int rows, int cols) : rows_(rows), cols_(cols), data_(rows * cols, 0.0) {}

    double& at(int r, int c) { return data_[r * cols_ + c]; }
    double at(int r, int c) const { return data_[r * cols_ + c]; }

    // Standard triple-loop product; the caller must pass compatible sizes.
    Matrix operator*(const Matrix& other) const {
        Matrix result(rows_, other.cols_);
        for (int i = 0; i < rows_; ++i)
            for (int k = 0; k < cols_; ++k)
                for (int j = 0; j < other.cols_; ++j)
                    result.at(i, j) += at(i, k) * other.at(k, j);
        return result;
    }

    void print() const {
        for (int i = 0; i < rows_; ++i) {
            for (int j = 0; j < cols_; ++j) std::cout << at(i, j) << ' ';
            std::cout << '\n';
        }
    }

private:
    int rows_, cols_;
    std::vector<double> data_;
};

int main() {
    Matrix a(2, 2), b(2, 2);
    a.at(0, 0) = 1; a.at(0, 1) = 2; a.at(1, 0) = 3; a.at(1, 1) = 4;
    b.at(0, 0) = 0; b.at(0, 1) = 1; b.at(1, 0) = 1; b.at(1, 1) = 0;
    (a * b).print();
}
